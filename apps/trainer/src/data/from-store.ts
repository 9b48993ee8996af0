import { NO_TIME, type FeatureStore } from '@warmstart/feature-store';
import { withStore } from './store';
import type { Dataset, ItemRecord, RatingEvent, UserRecord } from '@warmstart/evaluation';

/**
 * Reads a point-in-time snapshot of the feature store into memory: users, items, and every
 * interaction with event time <= `watermark` (default: now), with the dataset profile the import
 * declared (feedback kind, scale, whether it has times). Data without times keeps no availability
 * time stamped at the store's `NO_TIME` placeholder.
 */
export async function readSnapshot(
  store: FeatureStore,
  name: string | undefined,
  watermark = new Date(),
  fallbackName = 'feature-store',
): Promise<Dataset> {
  const profile = await store.datasetProfile();
  const snapshot = store.snapshot(watermark);
  const users: UserRecord[] = [];
  for await (const u of snapshot.users()) users.push(u);
  const items: ItemRecord[] = [];
  const placeholder = (t: Date) => !profile.hasTimes && t.getTime() === NO_TIME.getTime();
  for await (const it of snapshot.items()) {
    const availableAt = it.availableAt && !placeholder(it.availableAt) ? it.availableAt : undefined;
    items.push({ id: it.id, features: it.features, ...(availableAt ? { availableAt } : {}) });
  }
  const ratings: RatingEvent[] = [];
  for await (const { user, ratings: rs } of snapshot.interactionsByUser()) {
    for (const r of rs)
      ratings.push({ userId: user.id, itemId: r.itemId, value: r.value, time: r.time ?? watermark });
  }
  return {
    // The caller's name, else the one the import recorded, else the caller's fallback.
    name: name ?? profile.name ?? fallbackName,
    users,
    items,
    ratings,
    kind: profile.kind,
    ...(profile.scale && { scale: [profile.scale[0], profile.scale[1]] as [number, number] }),
    hasTimes: profile.hasTimes,
  };
}

/** The store's snapshot now; `name` overrides the dataset name its import recorded (else `fallbackName`). */
export async function loadDatasetFromStore(
  database: string,
  name?: string,
  fallbackName?: string,
): Promise<Dataset> {
  return withStore(database, (store) => readSnapshot(store, name, new Date(), fallbackName));
}
