/**
 * In-memory view of a dataset, as the trainer's protocol and baselines see it. The record types
 * mirror @warmstart/core's `UserRecord`/`ItemRecord`/`Rating`/`Task` (docs/internal-api.md).
 */
export type FeatureValue = string | readonly string[] | number | null | undefined;
export type FeatureRecord = Readonly<Record<string, FeatureValue>>;

export interface UserRecord {
  id: string;
  features: FeatureRecord;
}

export interface ItemRecord {
  id: string;
  features: FeatureRecord;
  availableAt?: Date;
}

export interface Rating {
  itemId: string;
  value: number;
  time?: Date;
}

export interface Task {
  user: UserRecord;
  support: Rating[];
  query: Rating[];
}

/** One interaction with its user, as read from a snapshot or a dataset directory. */
export interface RatingEvent {
  userId: string;
  itemId: string;
  value: number;
  time: Date;
}

export interface Dataset {
  /** Report label, e.g. `movielens-100k` or `synthetic`. */
  name: string;
  users: UserRecord[];
  items: ItemRecord[];
  ratings: RatingEvent[];
}

export type ItemCatalog = ReadonlyMap<string, ItemRecord>;

export function itemCatalog(items: Iterable<ItemRecord>): Map<string, ItemRecord> {
  const map = new Map<string, ItemRecord>();
  for (const item of items) map.set(item.id, item);
  return map;
}
