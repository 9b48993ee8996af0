/**
 * New items fold in as interactions arrive, through a real server and store: a model whose
 * artifact carries a user base (core `foldInBase`) scores new items i35 and i36 with rows folded
 * in from the interacting users' heads, each user adapted on its recent history from the store
 * (the server's support limit), exactly as core's foldInItemsFromHistories computes from the
 * same store; more interactions move them.
 */
import {
  FeatureStoreServiceClient,
  InteractionKind,
  RecommenderServiceClient,
  toTimestamp,
  type ScoreResponse,
} from '@warmstart/contracts';
import { adapt, foldInItemsFromHistories, score } from '@warmstart/core';
import type { FeatureStore } from '@warmstart/feature-store';
import { call, startHarness, tempStore, type Harness } from './support/harness';
import { NEW, close, eventually } from './support/warmup';
import { ITEMS, USERS, makeFoldInModel, seedWorld } from './support/world';

const SUPPORT = [{ itemId: 'i3', value: 1 }];
const SUPPORT_LIMIT = 4;
const catalog = new Map(ITEMS.map((i) => [i.id, i]));

const scores = async (h: Harness): Promise<number[]> => {
  const res = await call<unknown, ScoreResponse>(
    h.recommender,
    RecommenderServiceClient.prototype.score as never,
    {
      user: { userId: '', features: {}, support: SUPPORT },
      itemIds: NEW,
    },
  );
  return res.items.map((i) => i.score);
};

/** What core gives the request's user on the new items, folded in from the store's interactions. */
async function expected(store: FeatureStore): Promise<number[]> {
  const model = makeFoldInModel(1);
  const found = await store.itemInteractions(NEW, { perItem: 50 });
  const users = new Map(USERS.map((u) => [u.id, u]));
  const requests = [];
  for (const [id, list] of found) {
    const evidence = [];
    for (const r of list.filter((x) => x.value > 0))
      evidence.push({
        user: users.get(r.userId)!,
        history: await store.recentInteractions(r.userId, SUPPORT_LIMIT),
      });
    requests.push({ item: catalog.get(id)!, users: evidence });
  }
  const warmItems = foldInItemsFromHistories(model, requests, catalog);
  const adapted = adapt(model, [{ user: { id: '', features: {} }, support: SUPPORT }], catalog, {
    warmItems,
  });
  const encoded = model.encodeItems(
    NEW.map((id) => catalog.get(id)!),
    { warmItems },
  );
  const out = [...score(adapted, 0, encoded)];
  encoded.dispose();
  adapted.dispose();
  model.dispose();
  return out;
}

describe('new items fold in on their interactions', () => {
  let t: { store: FeatureStore; file: string; dispose(): void };
  let h: Harness;

  beforeAll(async () => {
    t = await tempStore();
    await seedWorld(t.store);
    await t.store.registry.registerModel({ modelId: 'm1', algorithm: 'anil', artifactUri: 'm1' });
    await t.store.registry.promote('m1');
    h = await startHarness(
      t.store,
      { m1: () => makeFoldInModel(1) },
      { warmupInteractions: 50, freshnessMs: 60_000, supportLimit: SUPPORT_LIMIT },
    );
  });
  afterAll(async () => {
    await h.close();
    t.dispose();
  });

  it('scores new items with rows folded in from their users’ histories; more interactions move them', async () => {
    const before = await expected(t.store);
    expect(await eventually(async () => close(await scores(h), before))).toBe(true);
    await call(h.featureStore, FeatureStoreServiceClient.prototype.ingestInteractions as never, {
      interactions: [6, 7, 8, 9].map((u) => ({
        eventId: `fold-${u}`,
        userId: `u${u}`,
        itemId: 'i35',
        value: 1,
        kind: InteractionKind.INTERACTION_KIND_RATING,
        eventTime: toTimestamp(new Date(Date.UTC(2002, 0, 1, 0, u))),
      })),
    });
    const after = await expected(t.store);
    expect(close(after, before)).toBe(false);
    expect(await eventually(async () => close(await scores(h), after))).toBe(true);
  });
});
