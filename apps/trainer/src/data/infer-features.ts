/**
 * Feature declarations for data without a `features` config.
 *
 * The config's `features` default is MovieLens's fields. When it is left at that default and a
 * side's records (users or items) do not carry every one of those fields, that side's declarations
 * are inferred from the records instead:
 * - string values -> categorical (the 200 most frequent values; the rest share the OOV slot);
 * - string lists -> multi_categorical (the same cap);
 * - numbers -> bucketized into 8 quantile buckets, boundaries fitted on the data by core's
 *   FeatureSpec.fromData;
 * - string fields that are mostly unique (more than 50 distinct values, over half the records)
 *   -> text (a bag of words, core's `text` kind) when their values share words (titles,
 *   descriptions: TEXT_MIN_SHARED); otherwise left out (ids), as a category per record would only
 *   memorise items and never reach a new one;
 * - left out: fields with fewer than two distinct values (nothing to learn).
 * No usable field gives an empty list: the model then runs on IDs and biases.
 * On MovieLens (every default field present) the defaults stay, so P1 is unchanged.
 */
import { textTokens, type FieldDecl } from '@warmstart/core';
import { DEFAULT_FEATURES, type TrainerConfig } from '../config/schema';
import type { FeatureValue, ItemRecord, UserRecord } from '@warmstart/evaluation';

export const INFERRED_MAX_VOCAB = 200;
export const INFERRED_BUCKETS = 8;
/**
 * A mostly unique string field is read as free text (`text`: a bag of its words) when at least
 * this share of its values has a word in common with another value (see sharedWordShare).
 */
export const TEXT_MIN_SHARED = 0.3;

type Features = TrainerConfig['features'];

export interface FeatureResolution {
  features: Features;
  /** Which sides were inferred from the data (false: the configuration's declarations). */
  inferred: { user: boolean; item: boolean };
  /** Fields left out of an inferred side, with the reason. */
  skipped: { side: 'user' | 'item'; name: string; reason: string }[];
}

/** The declarations to train with: the configured ones, or inferred per side (see the module comment). */
export function resolveFeatures(
  configured: Features,
  users: Iterable<UserRecord>,
  items: Iterable<ItemRecord>,
): FeatureResolution {
  const out: FeatureResolution = {
    features: configured,
    inferred: { user: false, item: false },
    skipped: [],
  };
  if (JSON.stringify(configured) !== JSON.stringify(DEFAULT_FEATURES)) return out;
  const sides = { user: [...users], item: [...items] };
  const features = { ...configured };
  for (const side of ['user', 'item'] as const) {
    const records = sides[side];
    const defaults = DEFAULT_FEATURES[side];
    if (defaults.every((f) => records.some((r) => present(r.features[f.name])))) continue;
    const inferred = inferFields(records);
    features[side] = inferred.fields;
    out.inferred[side] = true;
    out.skipped.push(...inferred.skipped.map((s) => ({ side, ...s })));
  }
  return { ...out, features };
}

/** Declarations for every usable field of `records` (in name order) and the fields left out. */
export function inferFields(records: readonly { features: Readonly<Record<string, FeatureValue>> }[]): {
  fields: FieldDecl[];
  skipped: { name: string; reason: string }[];
} {
  const values = new Map<string, FeatureValue[]>();
  for (const r of records) {
    for (const [name, v] of Object.entries(r.features ?? {})) {
      if (!present(v)) continue;
      const list = values.get(name);
      if (list) list.push(v);
      else values.set(name, [v]);
    }
  }
  const fields: FieldDecl[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const name of [...values.keys()].sort()) {
    const vs = values.get(name)!;
    if (vs.every((v) => typeof v === 'number')) {
      if (new Set(vs).size < 2) skipped.push({ name, reason: 'a single value' });
      else fields.push({ name, kind: 'bucketized', buckets: INFERRED_BUCKETS });
      continue;
    }
    if (vs.every((v) => Array.isArray(v))) {
      if (new Set(vs.flat()).size < 1) skipped.push({ name, reason: 'no values' });
      else fields.push({ name, kind: 'multi_categorical', maxVocab: INFERRED_MAX_VOCAB });
      continue;
    }
    const distinct = new Set(vs.map((v) => (Array.isArray(v) ? v.join('|') : String(v)))).size;
    if (distinct < 2) skipped.push({ name, reason: 'a single value' });
    else if (distinct > 50 && distinct > vs.length / 2) {
      const shared = sharedWordShare(vs);
      if (shared >= TEXT_MIN_SHARED) fields.push({ name, kind: 'text' });
      else
        skipped.push({
          name,
          reason: `mostly unique (${distinct} distinct values in ${vs.length} records, ${Math.round(100 * shared)}% sharing a word)`,
        });
    } else fields.push({ name, kind: 'categorical', maxVocab: INFERRED_MAX_VOCAB });
  }
  return { fields, skipped };
}

/**
 * The share of `values` holding a word (core textTokens) that some other value holds too and that
 * at most half of them hold: what tells free text (titles: "love", "night", a year) from
 * identifiers, whose words are each one record's, or one prefix every record shares.
 */
export function sharedWordShare(values: readonly FeatureValue[]): number {
  const words = values.map((v) => textTokens(v));
  const df = new Map<string, number>();
  for (const list of words) for (const w of list) df.set(w, (df.get(w) ?? 0) + 1);
  const most = values.length / 2;
  const sharing = words.filter((list) => list.some((w) => df.get(w)! >= 2 && df.get(w)! <= most)).length;
  return values.length === 0 ? 0 : sharing / values.length;
}

function present(v: FeatureValue): boolean {
  if (v === null || v === undefined || v === '') return false;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.length > 0;
  return true;
}
