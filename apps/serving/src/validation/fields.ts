import type { FeatureValue as ProtoFeatureValue, Timestamp } from '@warmstart/contracts';
import { fromTimestamp } from '@warmstart/contracts';
import { InvalidArgument } from '../grpc/errors';
import type { FeatureRecord, FeatureValue } from '../ports/types';

export const MAX_ID_LENGTH = 128;
const MAX_FEATURES = 256;

/** A required, non-empty id of at most 128 characters. */
export function requireId(value: string | undefined, field: string): string {
  if (value === undefined || value.length === 0) throw new InvalidArgument(field, 'must not be empty');
  if (value.length > MAX_ID_LENGTH)
    throw new InvalidArgument(field, `must be at most ${MAX_ID_LENGTH} characters (got ${value.length})`);
  return value;
}

export function requireFinite(value: number, field: string): number {
  if (!Number.isFinite(value)) throw new InvalidArgument(field, `must be a finite number (got ${value})`);
  return value;
}

export function checkListSize(list: readonly unknown[], max: number, field: string, min = 0): void {
  if (list.length < min) throw new InvalidArgument(field, `must hold at least ${min} entries`);
  if (list.length > max)
    throw new InvalidArgument(field, `holds ${list.length} entries; at most ${max} are accepted per call`);
}

export function requireTimestamp(ts: Timestamp | undefined, field: string): Date {
  if (ts === undefined) throw new InvalidArgument(field, 'is required');
  return optionalTimestamp(ts, field) as Date;
}

export function optionalTimestamp(ts: Timestamp | undefined, field: string): Date | undefined {
  if (ts === undefined) return undefined;
  if (!Number.isFinite(ts.seconds) || ts.nanos < 0 || ts.nanos > 999_999_999)
    throw new InvalidArgument(field, 'is not a valid timestamp');
  const date = fromTimestamp(ts);
  if (Number.isNaN(date.getTime())) throw new InvalidArgument(field, 'is out of range');
  return date;
}

/** Converts a proto feature map, rejecting empty names, unset values and non-finite numbers. */
export function toFeatureRecord(
  features: { [key: string]: ProtoFeatureValue },
  field: string,
): FeatureRecord {
  const entries = Object.entries(features);
  if (entries.length > MAX_FEATURES)
    throw new InvalidArgument(
      field,
      `holds ${entries.length} features; at most ${MAX_FEATURES} are accepted`,
    );
  const out: Record<string, FeatureValue> = {};
  for (const [name, value] of entries) {
    const f = `${field}["${name}"]`;
    if (name.length === 0) throw new InvalidArgument(field, 'feature names must not be empty');
    const kind = value.kind;
    if (kind === undefined) throw new InvalidArgument(f, 'no value is set');
    switch (kind.$case) {
      case 'categorical':
        out[name] = kind.value;
        break;
      case 'multiCategorical':
        out[name] = [...kind.value.values];
        break;
      case 'numeric':
        out[name] = requireFinite(kind.value, f);
        break;
    }
  }
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
