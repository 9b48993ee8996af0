import type { FeatureStore } from '@warmstart/feature-store';
import type { Dataset, ItemRecord, RatingEvent, UserRecord } from './types';
import { withStore } from './store';

/**
 * Reads a point-in-time snapshot of the feature store into memory: users, items, and every
 * interaction with event time <= `watermark` (default: now).
 */
export async function readSnapshot(store: FeatureStore, name: string, watermark = new Date()): Promise<Dataset> {
  const snapshot = store.snapshot(watermark);
  const users: UserRecord[] = [];
  for await (const u of snapshot.users()) users.push(u);
  const items: ItemRecord[] = [];
  for await (const it of snapshot.items()) {
    items.push({ id: it.id, features: it.features, ...(it.availableAt ? { availableAt: it.availableAt } : {}) });
  }
  const ratings: RatingEvent[] = [];
  for await (const { user, ratings: rs } of snapshot.interactionsByUser()) {
    for (const r of rs) ratings.push({ userId: user.id, itemId: r.itemId, value: r.value, time: r.time ?? watermark });
  }
  return { name, users, items, ratings };
}

export async function loadDatasetFromStore(database: string, name = 'feature-store'): Promise<Dataset> {
  return withStore(database, (store) => readSnapshot(store, name));
}
