import {
  FeatureSpec,
  attachRanker,
  buildNegativePool,
  createModel,
  userBaseOf,
  userHeadsOf,
  type FeatureSpecDecl,
  type ParamGroup,
  type RecommenderModel,
} from '@warmstart/core';
import type { FeatureStore } from '@warmstart/feature-store';

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
export const N_ITEMS = 40;
export const N_USERS = 10;

export const ITEMS = Array.from({ length: N_ITEMS }, (_, i) => ({
  id: `i${i}`,
  features: { genres: [GENRES[i % 4] as string, GENRES[(i * 7) % 4] as string], year: 1980 + (i % 20) },
  availableAt: new Date(Date.UTC(2000, 0, 1 + i)),
}));

export const USERS = Array.from({ length: N_USERS }, (_, u) => ({
  id: `u${u}`,
  features: { gender: u % 2 ? 'M' : 'F', age: 20 + u },
}));

/** Deterministic tiny world: 40 items, 10 users with 6 ratings each. */
export async function seedWorld(store: FeatureStore): Promise<void> {
  await store.upsertItems(ITEMS);
  await store.upsertUsers(USERS);
  const rows = [];
  for (let u = 0; u < N_USERS; u++)
    for (let j = 0; j < 6; j++) {
      const item = (u * 3 + j * 5) % N_ITEMS;
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

/** A small model over the world (seeded initial weights; `seed` tells versions apart). Items i0..i29 are "trained". */
/** A small model; `localGroups` defaults to MeLU's (pass ['output'] for ANIL). */
export function makeModel(seed: number, localGroups?: ParamGroup[]): RecommenderModel {
  const spec = FeatureSpec.fromData(DECL, USERS, ITEMS);
  return createModel(spec, {
    embeddingDim: 4,
    hidden: [8],
    seed,
    ...(localGroups ? { localGroups } : {}),
    idEmbeddings: { itemIds: ITEMS.slice(0, 30).map((i) => i.id), dim: 4 },
  });
}

/**
 * A rating model (head-only, Bayesian head) carrying an implicit ranker (core attachRanker): the
 * catalog fold-in over every item, its negative pool built from a few seeded interactions.
 */
export function makeRankedModel(seed: number, hidden: number[] = [8]): RecommenderModel {
  const spec = FeatureSpec.fromData(DECL, USERS, ITEMS);
  const model = createModel(spec, {
    embeddingDim: 4,
    hidden,
    seed,
    localGroups: ['output'],
    bayesHead: true,
    idEmbeddings: { itemIds: ITEMS.slice(0, 30).map((i) => i.id), dim: 4 },
  });
  const ranker = createModel(spec, {
    task: 'implicit',
    embeddingDim: 4,
    hidden,
    seed: seed + 100,
    localGroups: ['output'],
    negatives: { perPositive: 2, distribution: 'uniform' },
    bayesHead: true,
    catalogFoldIn: true,
    idEmbeddings: { itemIds: ITEMS.slice(0, 30).map((i) => i.id), dim: 4 },
  });
  const interactions = USERS.map((user, u) => ({
    user,
    support: [0, 1, 2].map((j) => ({ itemId: `i${(u * 3 + j * 5) % 30}`, value: 1 })),
    query: [],
  }));
  buildNegativePool(ranker, interactions, new Map(ITEMS.map((i) => [i.id, i])));
  attachRanker(model, ranker);
  return model;
}

/** Each world user's first three interactions among the trained items i0..i29 (value 1). */
export const HISTORIES = USERS.map((user, u) => ({
  user,
  support: [0, 1, 2].map((j) => ({ itemId: `i${(u * 3 + j * 5) % 30}`, value: 1 })),
}));

/**
 * An implicit catalog fold-in model without user features whose new items fold in (core
 * foldInItemsFromHistories): its negative pool and its user base (`foldInBase`) come from
 * {@link HISTORIES}, as `train` computes them from the training users.
 */
export function makeFoldInModel(seed: number): RecommenderModel {
  const spec = FeatureSpec.fromData({ user: [], item: DECL.item }, USERS, ITEMS);
  const model = createModel(spec, {
    task: 'implicit',
    embeddingDim: 4,
    hidden: [8],
    seed,
    localGroups: ['output'],
    negatives: { perPositive: 2, distribution: 'uniform' },
    bayesHead: true,
    catalogFoldIn: true,
    idEmbeddings: { itemIds: ITEMS.slice(0, 30).map((i) => i.id), dim: 4 },
  });
  const catalog = new Map(ITEMS.map((i) => [i.id, i]));
  buildNegativePool(
    model,
    HISTORIES.map((h) => ({ ...h, query: [] })),
    catalog,
  );
  model.foldInBase = userBaseOf(userHeadsOf(model, HISTORIES, catalog));
  return model;
}
