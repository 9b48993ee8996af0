import type { FeatureValue as ProtoFeatureValue, Timestamp } from '@warmstart/contracts';
import { fromTimestamp } from '@warmstart/contracts';
import { InvalidInput, quote } from '../domain/errors';
import type { FeatureRecord, FeatureValue } from '../ports/types';

export const MAX_ID_LENGTH = 128;
/** Bounds of one entity's features (a user, an item, a request's inline user); README "Limits". */
export const FEATURE_LIMITS = {
  /** Features per entity. */
  count: 256,
  /** Characters of a feature name. */
  nameLength: 128,
  /** Characters of a categorical value, and of each value of a multi-categorical one. */
  valueLength: 1024,
  /** Values of one multi-categorical feature. */
  multiValues: 256,
  /** Characters of all names and values of one entity together. */
  totalChars: 65_536,
} as const;

/** Timestamps accepted: google.protobuf.Timestamp's range, 0001-01-01 to 9999-12-31 (UTC). */
const MIN_SECONDS = -62_135_596_800;
const MAX_SECONDS = 253_402_300_799;

/** A required, non-empty id of at most 128 characters. */
export function requireId(value: string | undefined, field: string): string {
  if (value === undefined || value.length === 0) throw new InvalidInput(field, 'must not be empty');
  if (value.length > MAX_ID_LENGTH)
    throw new InvalidInput(field, `must be at most ${MAX_ID_LENGTH} characters (got ${value.length})`);
  return value;
}

export function requireFinite(value: number, field: string): number {
  if (!Number.isFinite(value)) throw new InvalidInput(field, `must be a finite number (got ${value})`);
  return value;
}

export function checkListSize(list: readonly unknown[], max: number, field: string, min = 0): void {
  if (list.length < min) throw new InvalidInput(field, `must hold at least ${min} entries`);
  if (list.length > max)
    throw new InvalidInput(field, `holds ${list.length} entries; at most ${max} are accepted per call`);
}

export function requireTimestamp(ts: Timestamp | undefined, field: string): Date {
  if (ts === undefined) throw new InvalidInput(field, 'is required');
  return optionalTimestamp(ts, field) as Date;
}

export function optionalTimestamp(ts: Timestamp | undefined, field: string): Date | undefined {
  if (ts === undefined) return undefined;
  if (!Number.isFinite(ts.seconds) || ts.nanos < 0 || ts.nanos > 999_999_999)
    throw new InvalidInput(field, 'is not a valid timestamp');
  if (ts.seconds < MIN_SECONDS || ts.seconds > MAX_SECONDS)
    throw new InvalidInput(
      `${field}.seconds`,
      `must be between ${MIN_SECONDS} (0001-01-01) and ${MAX_SECONDS} (9999-12-31) (got ${ts.seconds})`,
    );
  const date = fromTimestamp(ts);
  if (Number.isNaN(date.getTime())) throw new InvalidInput(field, 'is out of range');
  return date;
}

/**
 * Converts a proto feature map, rejecting empty or over-long names, unset values, non-finite
 * numbers and anything beyond FEATURE_LIMITS; errors name the feature (quoted, bounded).
 */
export function toFeatureRecord(
  features: { [key: string]: ProtoFeatureValue },
  field: string,
): FeatureRecord {
  const L = FEATURE_LIMITS;
  const entries = Object.entries(features);
  if (entries.length > L.count)
    throw new InvalidInput(field, `holds ${entries.length} features; at most ${L.count} are accepted`);
  const out: Record<string, FeatureValue> = {};
  let chars = 0;
  const checkValue = (v: string, f: string) => {
    if (v.length > L.valueLength)
      throw new InvalidInput(f, `value of ${v.length} characters; at most ${L.valueLength} are accepted`);
    chars += v.length;
  };
  for (const [name, value] of entries) {
    if (name.length === 0) throw new InvalidInput(field, 'feature names must not be empty');
    if (name.length > L.nameLength)
      throw new InvalidInput(
        field,
        `feature name ${quote(name)} is ${name.length} characters; at most ${L.nameLength} are accepted`,
      );
    chars += name.length;
    const f = `${field}[${quote(name)}]`;
    const kind = value.kind;
    if (kind === undefined) throw new InvalidInput(f, 'no value is set');
    switch (kind.$case) {
      case 'categorical':
        checkValue(kind.value, f);
        out[name] = kind.value;
        break;
      case 'multiCategorical': {
        const values = kind.value.values;
        if (values.length > L.multiValues)
          throw new InvalidInput(f, `holds ${values.length} values; at most ${L.multiValues} are accepted`);
        values.forEach((v, i) => checkValue(v, `${f}.values[${i}]`));
        out[name] = [...values];
        break;
      }
      case 'numeric':
        out[name] = requireFinite(kind.value, f);
        break;
    }
  }
  if (chars > L.totalChars)
    throw new InvalidInput(
      field,
      `features of ${chars} characters in all (names and values); at most ${L.totalChars} are accepted`,
    );
  return out;
}

/** Converts stored features back to the proto map. */
export function fromFeatureRecord(features: FeatureRecord): { [key: string]: ProtoFeatureValue } {
  const out: { [key: string]: ProtoFeatureValue } = {};
  for (const [name, value] of Object.entries(features)) {
    if (value === null || value === undefined) continue;
    if (typeof value === 'string') out[name] = { kind: { $case: 'categorical', value } };
    else if (typeof value === 'number') out[name] = { kind: { $case: 'numeric', value } };
    else out[name] = { kind: { $case: 'multiCategorical', value: { values: [...value] } } };
  }
  return out;
}
