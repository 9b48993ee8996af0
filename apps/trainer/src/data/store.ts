import { openFeatureStore, type FeatureStore } from '@warmstart/feature-store';

/** Opens the feature store (migrating it), runs `fn`, and always closes it. */
export async function withStore<T>(database: string, fn: (store: FeatureStore) => Promise<T>): Promise<T> {
  const store = await openFeatureStore(database);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
