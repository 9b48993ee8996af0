import { ValidationError } from './errors';
import type { FeatureRecord, FeatureValue } from './types';

/** Longest accepted id (matches the gRPC contract). */
export const MAX_ID_LENGTH = 128;
/** Timestamps outside this range are rejected as insane (and keep SQLite's text ordering valid). */
export const MIN_TIME = Date.UTC(1900, 0, 1);
export const MAX_TIME = Date.UTC(2200, 0, 1);

/** Inclusive range accepted for `rating` interactions. */
export const RATING_RANGE: readonly [number, number] = [1, 5];

export function checkId(field: string, id: unknown): string {
  if (typeof id !== 'string' || id.trim() === '')
    throw new ValidationError(field, 'must be a non-empty string');
  if (id.length > MAX_ID_LENGTH)
    throw new ValidationError(field, `is longer than ${MAX_ID_LENGTH} characters`);
  return id;
}

export function checkTime(field: string, time: unknown, optional = false): Date | undefined {
  if (time === undefined || time === null) {
    if (optional) return undefined;
    throw new ValidationError(field, 'is required');
  }
  if (!(time instanceof Date) || Number.isNaN(time.getTime()))
    throw new ValidationError(field, 'is not a valid date');
  if (time.getTime() < MIN_TIME || time.getTime() >= MAX_TIME) {
    throw new ValidationError(field, `${time.toISOString()} is outside 1900..2200`);
  }
  return time;
}

export function checkFiniteNumber(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new ValidationError(field, `${String(value)} is not a finite number`);
  return value;
}

function checkFeatureValue(field: string, value: FeatureValue): void {
  if (value === null || value === undefined) return;
  if (typeof value === 'string') return;
  if (typeof value === 'number') {
    checkFiniteNumber(field, value);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => {
      if (typeof v !== 'string') throw new ValidationError(`${field}[${i}]`, 'must be a string');
    });
    return;
  }
  throw new ValidationError(field, 'must be a string, a list of strings, a number or null');
}

export function checkFeatures(field: string, features: unknown): FeatureRecord {
  if (features === undefined) return {};
  if (features === null || typeof features !== 'object' || Array.isArray(features)) {
    throw new ValidationError(field, 'must be an object of feature values');
  }
  for (const [name, value] of Object.entries(features as Record<string, FeatureValue>)) {
    if (name.trim() === '') throw new ValidationError(field, 'has an empty field name');
    checkFeatureValue(`${field}.${name}`, value);
  }
  return features as FeatureRecord;
}

/** Rejects a batch that names the same key twice (ambiguous within one transaction). */
export function checkUnique(prefix: string, keys: readonly string[], key: string): void {
  const seen = new Map<string, number>();
  keys.forEach((k, i) => {
    const first = seen.get(k);
    if (first !== undefined)
      throw new ValidationError(`${prefix}[${i}].${key}`, `"${k}" repeats ${prefix}[${first}]`);
    seen.set(k, i);
  });
}
