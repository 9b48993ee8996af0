import type { ItemRecord, UserRecord } from '@warmstart/core';

/** In-memory view of a dataset, as the trainer's protocol and baselines see it. */
export type { FeatureValue, FeatureRecord, UserRecord, ItemRecord, Rating, Task } from '@warmstart/core';

/** One interaction with its user, as read from a snapshot or a dataset directory. */
export interface RatingEvent {
  userId: string;
  itemId: string;
  value: number;
  time: Date;
}

/** Explicit ratings on a declared scale, or implicit feedback (plays, clicks, purchases). */
export type FeedbackKind = 'explicit' | 'implicit';

export interface Dataset {
  /** Report label, e.g. `movielens-100k` or `synthetic`. */
  name: string;
  users: UserRecord[];
  items: ItemRecord[];
  ratings: RatingEvent[];
  /**
   * 'explicit' ratings on `scale`, or implicit feedback (every stored interaction is a positive,
   * value 1). Default explicit [1,5].
   */
  kind?: FeedbackKind;
  /** Declared rating scale [low, high] of explicit data. */
  scale?: [number, number];
  /** false when the data has no event times (P2 then uses seeded random orders and says so). */
  hasTimes?: boolean;
}

export type ItemCatalog = ReadonlyMap<string, ItemRecord>;

export function itemCatalog(items: Iterable<ItemRecord>): Map<string, ItemRecord> {
  const map = new Map<string, ItemRecord>();
  for (const item of items) map.set(item.id, item);
  return map;
}
