import { ValidationError } from '../errors';
import type { FeatureValue, ItemRecord, UserRecord } from '../types';

/**
 * How a raw field is turned into model input. `text` is free text (titles, descriptions): a bag of
 * its lower-cased words, each word a category (see {@link textTokens}).
 */
export type FieldKind = 'categorical' | 'multi_categorical' | 'numeric' | 'bucketized' | 'text';

/** Declaration of one field, before vocabularies and statistics are learned from data. */
export interface FieldDecl {
  name: string;
  kind: FieldKind;
  /** bucketized: ascending bucket boundaries; if omitted, quantiles of the data (`buckets` count). */
  boundaries?: number[];
  /** bucketized: number of quantile buckets when `boundaries` is omitted (default 8). */
  buckets?: number;
  /**
   * categorical / multi_categorical / text: keep the most frequent values (text: words, by the
   * number of records holding them) up to this size; the rest go to OOV. Text defaults to
   * TEXT_MAX_VOCAB.
   */
  maxVocab?: number;
}

/** Words a text field keeps at most, by default (the most frequent). */
export const TEXT_MAX_VOCAB = 5000;
/**
 * Records a word must appear in to enter a text field's vocabulary: a word of one record only
 * identifies that record (its ID does that already) and never reaches a new one.
 */
export const TEXT_MIN_RECORDS = 2;

/** Declared user and item fields. */
export interface FeatureSpecDecl {
  user: FieldDecl[];
  item: FieldDecl[];
}

/**
 * A field after fitting. Column layout inside the entity's input row, `width` columns from `offset`:
 * - categorical / multi_categorical / text: column 0 is the OOV/missing slot, then one per
 *   vocabulary value (multi-valued fields and a text's words are mean-pooled: each gets 1/n);
 * - numeric: [standardised value (0 when missing), missing indicator];
 * - bucketized: column 0 is missing, then one per bucket (`boundaries.length + 1`).
 */
export interface FittedField {
  name: string;
  kind: FieldKind;
  offset: number;
  width: number;
  vocab?: string[];
  boundaries?: number[];
  mean?: number;
  std?: number;
}

/** Serialised form of a {@link FeatureSpec} (stored in artifacts and in the feature store). */
export interface FeatureSpecJSON {
  version: 1;
  user: FittedField[];
  item: FittedField[];
}

/** The fitted fields of one entity (user or item). */
export interface EntitySpec {
  fields: FittedField[];
  /** Total input row width. */
  width: number;
  /** field name -> value -> column (absolute), for categorical kinds. */
  index: Map<string, Map<string, number>>;
}

const KINDS: readonly FieldKind[] = ['categorical', 'multi_categorical', 'numeric', 'bucketized', 'text'];

/** Kinds whose values are categories with a vocabulary (text: its words). */
export function hasVocab(kind: FieldKind): boolean {
  return kind === 'categorical' || kind === 'multi_categorical' || kind === 'text';
}

/** Fitted feature spec: vocabularies with OOV slots, numeric statistics and buckets for users and items. */
export class FeatureSpec {
  readonly user: EntitySpec;
  readonly item: EntitySpec;

  private constructor(user: FittedField[], item: FittedField[]) {
    this.user = entity(user);
    this.item = entity(item);
  }

  /** Learns vocabularies (most frequent first), numeric mean/std and quantile boundaries from data. */
  static fromData(
    decl: FeatureSpecDecl,
    users: Iterable<UserRecord>,
    items: Iterable<ItemRecord>,
  ): FeatureSpec {
    checkDecl(decl);
    return new FeatureSpec(fitEntity(decl.user, users), fitEntity(decl.item, items));
  }

  /** Restores a spec from {@link FeatureSpec.toJSON} output. */
  static fromJSON(json: FeatureSpecJSON | string): FeatureSpec {
    const doc = (typeof json === 'string' ? JSON.parse(json) : json) as FeatureSpecJSON;
    if (!doc || doc.version !== 1)
      throw new ValidationError('spec.version', 'unsupported feature spec version');
    if (!Array.isArray(doc.user) || !Array.isArray(doc.item)) {
      throw new ValidationError('spec', 'needs user and item field arrays');
    }
    checkFitted(doc.user, 'spec.user');
    checkFitted(doc.item, 'spec.item');
    return new FeatureSpec(doc.user, doc.item);
  }

  toJSON(): FeatureSpecJSON {
    return { version: 1, user: this.user.fields, item: this.item.fields };
  }
}

function entity(fields: FittedField[]): EntitySpec {
  const index = new Map<string, Map<string, number>>();
  let width = 0;
  for (const f of fields) {
    if (f.vocab) index.set(f.name, new Map(f.vocab.map((v, i) => [v, f.offset + 1 + i])));
    width = Math.max(width, f.offset + f.width);
  }
  return { fields, width, index };
}

function checkDecl(decl: FeatureSpecDecl): void {
  for (const side of ['user', 'item'] as const) {
    const fields = decl?.[side];
    if (!Array.isArray(fields)) throw new ValidationError(`decl.${side}`, 'must be an array of fields');
    const seen = new Set<string>();
    fields.forEach((f, i) => {
      const at = `decl.${side}[${i}]`;
      if (!f || typeof f.name !== 'string' || f.name === '')
        throw new ValidationError(`${at}.name`, 'is required');
      if (seen.has(f.name)) throw new ValidationError(`${at}.name`, `duplicate field "${f.name}"`);
      seen.add(f.name);
      if (!KINDS.includes(f.kind))
        throw new ValidationError(`${at}.kind`, `must be one of ${KINDS.join(', ')}`);
      if (
        f.boundaries &&
        f.boundaries.some((b, j) => !Number.isFinite(b) || (j > 0 && b <= f.boundaries![j - 1]))
      ) {
        throw new ValidationError(`${at}.boundaries`, 'must be finite and strictly ascending');
      }
      if (f.maxVocab !== undefined && !(Number.isInteger(f.maxVocab) && f.maxVocab > 0)) {
        throw new ValidationError(`${at}.maxVocab`, 'must be a positive integer');
      }
      if (f.buckets !== undefined && !(Number.isInteger(f.buckets) && f.buckets > 1)) {
        throw new ValidationError(`${at}.buckets`, 'must be an integer > 1');
      }
    });
  }
}

/**
 * Checks fitted fields read back from JSON (artifacts, feature store): the column layout that
 * {@link fitEntity} produces (contiguous from 0, widths implied by the kind) and the statistics
 * the encoder reads, so a damaged spec fails here, naming the field, instead of mis-encoding.
 */
function checkFitted(fields: FittedField[], path: string): void {
  const seen = new Set<string>();
  let offset = 0;
  fields.forEach((f, i) => {
    const at = `${path}[${i}]`;
    if (!f || typeof f !== 'object') throw new ValidationError(at, 'must be a fitted field');
    if (typeof f.name !== 'string' || f.name === '') throw new ValidationError(`${at}.name`, 'is required');
    if (seen.has(f.name)) throw new ValidationError(`${at}.name`, `duplicate field "${f.name}"`);
    seen.add(f.name);
    if (!KINDS.includes(f.kind))
      throw new ValidationError(`${at}.kind`, `must be one of ${KINDS.join(', ')}`);
    if (f.offset !== offset)
      throw new ValidationError(`${at}.offset`, `must be ${offset} (fields are contiguous)`);
    let width: number;
    if (hasVocab(f.kind)) {
      if (!Array.isArray(f.vocab) || f.vocab.some((v) => typeof v !== 'string'))
        throw new ValidationError(`${at}.vocab`, 'must be an array of strings');
      width = f.vocab.length + 1;
    } else if (f.kind === 'numeric') {
      if (!Number.isFinite(f.mean)) throw new ValidationError(`${at}.mean`, 'must be a finite number');
      if (!(Number.isFinite(f.std) && f.std! > 0))
        throw new ValidationError(`${at}.std`, 'must be a number > 0');
      width = 2;
    } else {
      const b = f.boundaries;
      if (!Array.isArray(b) || b.some((x, j) => !Number.isFinite(x) || (j > 0 && x <= b[j - 1])))
        throw new ValidationError(`${at}.boundaries`, 'must be ascending finite numbers');
      width = b.length + 2;
    }
    if (f.width !== width)
      throw new ValidationError(`${at}.width`, `must be ${width} for this ${f.kind} field`);
    offset += width;
  });
}

function fitEntity(
  decls: FieldDecl[],
  records: Iterable<{ features: Record<string, FeatureValue> }>,
): FittedField[] {
  const counts = decls.map(() => new Map<string, number>());
  const nums: number[][] = decls.map(() => []);
  for (const r of records) {
    decls.forEach((d, i) => {
      const v = r.features?.[d.name];
      if (hasVocab(d.kind)) {
        const values = d.kind === 'text' ? textTokens(v) : asStrings(v);
        for (const s of values) counts[i].set(s, (counts[i].get(s) ?? 0) + 1);
      } else {
        const x = asNumber(v);
        if (x !== undefined) nums[i].push(x);
      }
    });
  }
  let offset = 0;
  return decls.map((d, i) => {
    let f: FittedField;
    if (hasVocab(d.kind)) {
      const text = d.kind === 'text';
      const vocab = [...counts[i].entries()]
        .filter(([, n]) => !text || n >= TEXT_MIN_RECORDS)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .slice(0, d.maxVocab ?? (text ? TEXT_MAX_VOCAB : Infinity))
        .map(([v]) => v);
      f = { name: d.name, kind: d.kind, offset, width: vocab.length + 1, vocab };
    } else if (d.kind === 'numeric') {
      const xs = nums[i];
      const mean = xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
      const sd = xs.length ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) : 1;
      f = { name: d.name, kind: d.kind, offset, width: 2, mean, std: sd > 0 ? sd : 1 };
    } else {
      const boundaries = d.boundaries ?? quantiles(nums[i], d.buckets ?? 8);
      f = { name: d.name, kind: d.kind, offset, width: boundaries.length + 2, boundaries };
    }
    offset += f.width;
    return f;
  });
}

/** Distinct inner quantile cut points splitting `xs` into about `n` equal buckets. */
function quantiles(xs: number[], n: number): number[] {
  if (xs.length === 0) return [];
  const sorted = [...xs].sort((a, b) => a - b);
  const cuts: number[] = [];
  for (let q = 1; q < n; q++) {
    const c = sorted[Math.min(sorted.length - 1, Math.floor((q / n) * sorted.length))];
    if (c > sorted[0] && (cuts.length === 0 || c > cuts[cuts.length - 1])) cuts.push(c);
  }
  return cuts;
}

/** Categorical values of a raw feature (a number is its decimal string; absent is none). */
export function asStrings(v: FeatureValue): readonly string[] {
  if (v === null || v === undefined) return [];
  if (typeof v === 'string') return v === '' ? [] : [v];
  if (typeof v === 'number') return Number.isFinite(v) ? [String(v)] : [];
  return Array.isArray(v) ? v.filter((s) => typeof s === 'string' && s !== '') : [];
}

/**
 * The words of a text value, each once, in order of first appearance: lower-cased runs of letters
 * and digits (any script); a list's strings are read one after another; numbers and absent
 * values have none. "Toy Story (1995)" -> toy, story, 1995.
 */
export function textTokens(v: FeatureValue): readonly string[] {
  const words = new Set<string>();
  for (const s of typeof v === 'string' ? [v] : Array.isArray(v) ? v : [])
    if (typeof s === 'string') for (const w of s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) words.add(w);
  return [...words];
}

/** Numeric value of a raw feature, or undefined when absent, NaN or not a number. */
export function asNumber(v: FeatureValue): number | undefined {
  const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(x) ? x : undefined;
}
