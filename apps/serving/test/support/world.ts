import { FeatureSpec, createModel, type FeatureSpecDecl, type RecommenderModel } from '@warmstart/core';
import type { MemoryStore } from './memory-store';

export const DECL: FeatureSpecDecl = {
  user: [
    { name: 'gender', kind: 'categorical' },
    { name: 'age', kind: 'numeric' },
  ],
  item: [
    { name: 'genres', kind: 'multi_categorical' },
    { name: 'year', kind: 'numeric' },
  ],
};

const GENRES = ['action', 'comedy', 'drama', 'horror'];

/** Deterministic tiny catalogue: 40 items, 10 users with 6 ratings each. */
export async function seedWorld(store: MemoryStore, nItems = 40, nUsers = 10): Promise<void> {
  await store.upsertItems(
    Array.from({ length: nItems }, (_, i) => ({
      id: `i${i}`,
      features: { genres: [GENRES[i % 4] as string, GENRES[(i * 7) % 4] as string], year: 1980 + (i % 20) },
      availableAt: new Date(Date.UTC(2000, 0, 1 + i)),
    })),
  );
  await store.upsertUsers(
    Array.from({ length: nUsers }, (_, u) => ({
      id: `u${u}`,
      features: { gender: u % 2 ? 'M' : 'F', age: 20 + u },
    })),
  );
  const rows = [];
  for (let u = 0; u < nUsers; u++)
    for (let j = 0; j < 6; j++) {
      const item = (u * 3 + j * 5) % nItems;
      rows.push({
        eventId: `e-${u}-${j}`,
        userId: `u${u}`,
        itemId: `i${item}`,
        value: 1 + ((u + item) % 5),
        kind: 'rating' as const,
        eventTime: new Date(Date.UTC(2001, 0, 1, 0, u, j)),
      });
    }
  await store.ingestInteractions(rows);
}

/** A small model over the seeded world (seeded initial weights; `seed` varies versions). */
export function makeModel(store: MemoryStore, seed: number, withItemIds = true): RecommenderModel {
  const spec = FeatureSpec.fromData(DECL, store.users.values(), store.items.values());
  const trained = [...store.items.keys()].slice(0, 30);
  return createModel(spec, {
    embeddingDim: 4,
    hidden: [8],
    seed,
    ...(withItemIds ? { idEmbeddings: { itemIds: trained, dim: 4 } } : {}),
  });
}
