import type { Timestamp } from './gen/google/protobuf/timestamp';

/** Converts a JS Date to a google.protobuf.Timestamp. */
export function toTimestamp(date: Date): Timestamp {
  const millis = date.getTime();
  if (!Number.isFinite(millis)) throw new RangeError('toTimestamp: invalid Date');
  const seconds = Math.floor(millis / 1000);
  return { seconds, nanos: (millis - seconds * 1000) * 1_000_000 };
}

/** Converts a google.protobuf.Timestamp to a JS Date (millisecond precision). */
export function fromTimestamp(ts: Timestamp): Date {
  return new Date(ts.seconds * 1000 + Math.floor(ts.nanos / 1_000_000));
}
