/**
 * Recommend on a rating model with a ranker (core attachRanker), through the real server: the
 * items come in the ranker's order over the whole active catalog, and each reply's score is the
 * predicted rating, the value Score returns for the same user and item.
 */
import type { ScoreResponse } from '@warmstart/contracts';
import type { FeatureStore } from '@warmstart/feature-store';
import { CoreServingModel } from '../src/adapters/core-runtime';
import { call, recommend, startHarness, tempStore, type Harness } from './support/harness';
import { ITEMS, makeRankedModel, seedWorld } from './support/world';

describe('Recommend with a ranker (real server)', () => {
  let h: Harness;
  let store: FeatureStore;
  let dispose: () => void;
  const support = [
    { itemId: 'i3', value: 5 },
    { itemId: 'i12', value: 2 },
  ];

  beforeAll(async () => {
    ({ store, dispose } = await tempStore());
    await seedWorld(store);
    await store.registry.registerModel({ modelId: 'm1', algorithm: 'anil', artifactUri: 'm1' });
    await store.registry.promote('m1');
    h = await startHarness(store, { m1: () => makeRankedModel(1) });
  });
  afterAll(async () => {
    await h.close();
    dispose();
  });

  it("orders by the ranker's scores and answers with predicted ratings", async () => {
    const user = { userId: '', features: {}, support };
    const res = await recommend(h, { user, k: 10 });
    expect(res.items).toHaveLength(10);
    // The same model, ranked here: the reply is the ranker's top 10 of the unseen active items.
    const local = new CoreServingModel(makeRankedModel(1), { modelId: 'm1', version: 1 }, {});
    const catalog = new Map(ITEMS.map((i) => [i.id, i]));
    const [adapted] = local.adapt([{ user: { id: '', features: {} }, support }], catalog);
    const encoded = local.encodeItems(ITEMS);
    const ranked = adapted!.rank(encoded);
    const rated = adapted!.score(encoded);
    const unseen = ITEMS.map((item, i) => ({ id: item.id, rank: ranked[i]!, rating: rated[i]! })).filter(
      (x) => !support.some((s) => s.itemId === x.id),
    );
    const expected = [...unseen].sort((a, b) => b.rank - a.rank).slice(0, 10);
    expect(res.items.map((i) => i.itemId)).toEqual(expected.map((x) => x.id));
    // Scores are predicted ratings (not the ranking scores), so not necessarily in order.
    res.items.forEach((item, i) => expect(item.score).toBeCloseTo(expected[i]!.rating, 4));
    const byRating = [...unseen].sort((a, b) => b.rating - a.rating).slice(0, 10);
    expect(byRating.map((x) => x.id)).not.toEqual(expected.map((x) => x.id));
    adapted!.dispose();
    encoded.dispose();
    local.dispose();
    // Score answers the same predicted ratings.
    const scored = await call<unknown, ScoreResponse>(h.recommender, h.recommender.score as never, {
      user,
      itemIds: res.items.map((i) => i.itemId),
    });
    scored.items.forEach((item, i) => expect(item.score).toBeCloseTo(res.items[i]!.score, 5));
  });
});
