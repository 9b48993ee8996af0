import type { FeatureRecord } from '../types';
import { asNumber, asStrings, hasVocab, textTokens, type EntitySpec, type FittedField } from './spec';

/** Per-field counts of values that fell back: unseen categories (OOV) and missing/NaN values. */
export interface EncodeStats {
  oov: Record<string, number>;
  missing: Record<string, number>;
}

/** Empty counters. */
export function newEncodeStats(): EncodeStats {
  return { oov: {}, missing: {} };
}

/**
 * Width of an entity's encoded row: its fields' columns, or, for an entity declared with no
 * fields at all, one constant column (always 1). The model then runs on that constant where the
 * features would be (a learned intercept), so every tensor keeps a non-empty feature axis.
 */
export function rowWidth(spec: EntitySpec): number {
  return spec.fields.length === 0 ? 1 : spec.width;
}

/**
 * Encodes records into a dense row-major `[records.length, rowWidth(spec)]` matrix (column layout
 * in {@link FittedField}). Never throws on values: unseen categories go to the OOV slot, missing or
 * NaN values to the field default, and both are counted in `stats`.
 */
export function encodeRows(
  spec: EntitySpec,
  records: readonly { features: FeatureRecord }[],
  stats: EncodeStats = newEncodeStats(),
): Float32Array {
  const width = rowWidth(spec);
  const out = new Float32Array(records.length * width);
  records.forEach((r, row) => encodeInto(spec, r.features ?? {}, out, row * width, stats));
  return out;
}

/** Encodes one record into `out` at `base` (`rowWidth(spec)` values). */
export function encodeInto(
  spec: EntitySpec,
  features: FeatureRecord,
  out: Float32Array,
  base: number,
  stats: EncodeStats,
): void {
  if (spec.fields.length === 0) {
    out[base] = 1; // the constant column of an entity without fields
    return;
  }
  for (const f of spec.fields) {
    const v = features[f.name];
    const at = base + f.offset;
    if (hasVocab(f.kind)) {
      const values =
        f.kind === 'text'
          ? textTokens(v)
          : f.kind === 'categorical'
            ? asStrings(v).slice(0, 1)
            : asStrings(v);
      if (values.length === 0) {
        bump(stats.missing, f);
        out[at] = 1;
        continue;
      }
      const index = spec.index.get(f.name)!;
      for (const s of values) {
        const col = index.get(s);
        if (col === undefined) bump(stats.oov, f);
        out[col === undefined ? at : base + col] += 1 / values.length;
      }
    } else if (f.kind === 'numeric') {
      const x = asNumber(v);
      if (x === undefined) {
        bump(stats.missing, f);
        out[at + 1] = 1;
      } else out[at] = (x - f.mean!) / f.std!;
    } else {
      const x = asNumber(v);
      if (x === undefined) {
        bump(stats.missing, f);
        out[at] = 1;
      } else out[at + 1 + bucketOf(f.boundaries!, x)] = 1;
    }
  }
}

/** Index of the bucket of x: the number of boundaries <= x. */
export function bucketOf(boundaries: readonly number[], x: number): number {
  let lo = 0;
  let hi = boundaries.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (boundaries[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function bump(counter: Record<string, number>, f: FittedField): void {
  counter[f.name] = (counter[f.name] ?? 0) + 1;
}
