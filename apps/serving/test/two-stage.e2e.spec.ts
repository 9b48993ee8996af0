/**
 * All-active Recommend over a catalog larger than `shortlistSize` ranks in two stages (core's
 * rankShortlist): its answers carry the network's exact scores (Score's), best first, never a seen
 * or retired item; a shortlist as large as the catalog answers what exhaustive scoring answers;
 * and an item written a moment ago enters the first stage at once.
 */
import { toTimestamp, type RecommendResponse, type ScoreResponse } from '@warmstart/contracts';
import { ANIL_LOCAL_GROUPS, createModel, FeatureSpec } from '@warmstart/core';
import type { FeatureStore } from '@warmstart/feature-store';
import { call, recommend, startHarness, tempStore, type Harness } from './support/harness';
import { DECL, ITEMS, N_ITEMS, USERS, makeRankedModel, seedWorld } from './support/world';

/** A shared trunk of two decision layers (the configuration two-stage ranking applies to). */
function twoLayerModel() {
  const spec = FeatureSpec.fromData(DECL, USERS, ITEMS);
  return createModel(spec, {
    embeddingDim: 4,
    hidden: [8, 6],
    seed: 4,
    localGroups: ANIL_LOCAL_GROUPS,
    idEmbeddings: { itemIds: ITEMS.slice(0, 30).map((i) => i.id), dim: 4 },
  });
}

const allActive = { source: { $case: 'allActive' as const, value: {} } };
const stored = (u: number) => ({ userId: `u${u}`, features: {}, support: [] });
const inline = {
  userId: '',
  features: { gender: { kind: { $case: 'categorical' as const, value: 'F' } } },
  support: [
    { itemId: 'i2', value: 5 },
    { itemId: 'i7', value: 1 },
  ],
};

describe('two-stage ranking of all active items', () => {
  let store: FeatureStore;
  let dispose: () => void;
  let exhaustive: Harness;
  let whole: Harness;
  let fraction: Harness;
  let short: Harness;

  beforeAll(async () => {
    ({ store, dispose } = await tempStore());
    await seedWorld(store);
    await store.registry.registerModel({ modelId: 'm1', algorithm: 'anil', artifactUri: 'm1' });
    await store.registry.promote('m1');
    const models = { m1: twoLayerModel };
    exhaustive = await startHarness(store, models, { shortlistSize: 0 });
    whole = await startHarness(store, models, { shortlistSize: N_ITEMS - 1 });
    // A shortlist of 8, raised to 97% of the catalog (39 of 40 items) by the fraction.
    fraction = await startHarness(store, models, { shortlistSize: 8, shortlistFraction: 0.97 });
    // Writes applied before the very next call (the default batches them within 100 ms).
    short = await startHarness(store, models, { shortlistSize: 8, writeCoalesceMs: 0 });
  });
  afterAll(async () => {
    for (const h of [exhaustive, whole, fraction, short]) await h.close();
    dispose();
  });

  const rated = async (u: number) =>
    new Set((await store.recentInteractions(`u${u}`, 100)).map((r) => r.itemId));

  it('answers exact scores, best first, without seen items', async () => {
    for (const user of [stored(0), stored(3), stored(8), inline]) {
      const res = await recommend(short, { user, candidates: allActive, k: 6 });
      expect(res.items).toHaveLength(6);
      const scored = await call<unknown, ScoreResponse>(short.recommender, short.recommender.score as never, {
        user,
        itemIds: res.items.map((i) => i.itemId),
      });
      res.items.forEach((item, i) => {
        expect(item.score).toBeCloseTo(scored.items[i]!.score, 5);
        if (i > 0) expect(item.score).toBeLessThanOrEqual(res.items[i - 1]!.score + 1e-6);
      });
      if (user.userId) {
        const seen = await rated(Number(user.userId.slice(1)));
        for (const item of res.items) expect(seen.has(item.itemId)).toBe(false);
      }
    }
  });

  it('with a shortlist as large as the catalog (by size or by fraction), answers what exhaustive scoring answers', async () => {
    const top = (r: RecommendResponse) => r.items.map((i) => [i.itemId, i.score.toFixed(5)] as const);
    for (const [user, h] of [stored(1), stored(6), inline].flatMap((u) => [
      [u, whole] as const,
      [u, fraction] as const,
    ])) {
      const a = await recommend(exhaustive, { user, candidates: allActive, k: 5 });
      const b = await recommend(h, { user, candidates: allActive, k: 5 });
      // The same scores; ids may differ only among equal scores (ties keep candidate order in one).
      expect(b.items.map((i) => i.score.toFixed(5))).toEqual(a.items.map((i) => i.score.toFixed(5)));
      const distinct = top(a).filter(([, s], _i, all) => all.filter(([, t]) => t === s).length === 1);
      for (const [id] of distinct) expect(b.items.map((i) => i.itemId)).toContain(id);
    }
  });

  it('takes a new item at once and drops a retired one', async () => {
    await call(short.featureStore, short.featureStore.upsertItems as never, {
      items: [
        {
          id: 'fresh',
          features: { genres: { kind: { $case: 'multiCategorical', value: { values: ['comedy'] } } } },
          availableAt: toTimestamp(new Date()),
          status: 1,
        },
        { id: 'i11', features: {}, status: 2 },
      ],
    });
    const res = await recommend(short, { user: stored(2), candidates: allActive, k: 100, includeSeen: true });
    const ids = res.items.map((i) => i.itemId);
    expect(ids).toContain('fresh');
    expect(ids).not.toContain('i11');
    expect(ids).toHaveLength(N_ITEMS); // 40 seeded - i11 + fresh
  });
});

describe('two-stage ranking with a ranker', () => {
  let store: FeatureStore;
  let dispose: () => void;
  let exhaustive: Harness;
  let whole: Harness;

  beforeAll(async () => {
    ({ store, dispose } = await tempStore());
    await seedWorld(store);
    await store.registry.registerModel({ modelId: 'm1', algorithm: 'anil', artifactUri: 'm1' });
    await store.registry.promote('m1');
    const models = { m1: () => makeRankedModel(2, [8, 6]) };
    exhaustive = await startHarness(store, models, { shortlistSize: 0 });
    whole = await startHarness(store, models, { shortlistSize: N_ITEMS - 1 });
  });
  afterAll(async () => {
    for (const h of [exhaustive, whole]) await h.close();
    dispose();
  });

  it("shortlists by the ranker and answers the chosen items' predicted ratings", async () => {
    for (const user of [stored(0), stored(5), inline]) {
      const a = await recommend(exhaustive, { user, candidates: allActive, k: 5 });
      const b = await recommend(whole, { user, candidates: allActive, k: 5 });
      expect(b.items.map((i) => i.itemId)).toEqual(a.items.map((i) => i.itemId));
      const scored = await call<unknown, ScoreResponse>(whole.recommender, whole.recommender.score as never, {
        user,
        itemIds: b.items.map((i) => i.itemId),
      });
      b.items.forEach((item, i) => expect(item.score).toBeCloseTo(scored.items[i]!.score, 5));
    }
  });
});

describe('two-stage ranking without user features', () => {
  // The trunk ignores the user, so the first stage is exact: the scan answers at any catalog size
  // (here 40 items under a shortlist of 2,000), and must answer what the network does.
  let store: FeatureStore;
  let dispose: () => void;
  let exhaustive: Harness;
  let scan: Harness;
  const model = () =>
    createModel(FeatureSpec.fromData({ user: [], item: DECL.item }, USERS, ITEMS), {
      embeddingDim: 4,
      hidden: [8, 6],
      seed: 5,
      localGroups: ANIL_LOCAL_GROUPS,
      idEmbeddings: { itemIds: ITEMS.slice(0, 30).map((i) => i.id), dim: 4 },
    });

  beforeAll(async () => {
    ({ store, dispose } = await tempStore());
    await seedWorld(store);
    await store.registry.registerModel({ modelId: 'm1', algorithm: 'anil', artifactUri: 'm1' });
    await store.registry.promote('m1');
    exhaustive = await startHarness(store, { m1: model }, { shortlistSize: 0 });
    scan = await startHarness(store, { m1: model }, { shortlistSize: 2000 });
  });
  afterAll(async () => {
    for (const h of [exhaustive, scan]) await h.close();
    dispose();
  });

  it('answers what exhaustive scoring answers, without seen items', async () => {
    const support = { userId: '', features: {}, support: inline.support };
    for (const user of [stored(0), stored(4), support]) {
      for (const k of [1, 5, 100]) {
        const a = await recommend(exhaustive, { user, candidates: allActive, k });
        const b = await recommend(scan, { user, candidates: allActive, k });
        expect(b.items.length).toBe(a.items.length);
        expect(b.items.map((i) => i.score.toFixed(5))).toEqual(a.items.map((i) => i.score.toFixed(5)));
        const ids = new Set(b.items.map((i) => i.itemId));
        const scores = a.items.map((i) => i.score.toFixed(5));
        for (const item of a.items)
          if (scores.filter((s) => s === item.score.toFixed(5)).length === 1)
            expect(ids.has(item.itemId)).toBe(true);
      }
    }
  });
});
