/**
 * New items warm up as interactions arrive (core's warmUpItems, driven by the ItemWarmer): items
 * i30..i39 have no ID row in the test model, so they are scored from content plus a row warmed
 * on their interactions: exactly what core computes from the store's interactions. An ingest
 * through a server starts its check at once (server 1's own interval is a minute); another
 * server on the same store sees it within its freshness window. A promoted version warms the new
 * items up for itself. Warm-ups run in the background, so the checks poll.
 */
import {
  FeatureStoreServiceClient,
  InteractionKind,
  ModelRegistryServiceClient,
  RecommenderServiceClient,
  toTimestamp,
  type RecommendResponse,
  type ScoreResponse,
} from '@warmstart/contracts';
import { adapt, score, warmUpItems, type RecommenderModel } from '@warmstart/core';
import { openFeatureStore, type FeatureStore } from '@warmstart/feature-store';
import { call, startHarness, tempStore, type Harness } from './support/harness';
import { ITEMS, USERS, makeModel, seedWorld } from './support/world';

const FEATURES = { gender: 'F', age: 33 };
const SUPPORT = [{ itemId: 'i3', value: 5 }];
const user = {
  userId: '',
  features: {
    gender: { kind: { $case: 'categorical', value: FEATURES.gender } },
    age: { kind: { $case: 'numeric', value: FEATURES.age } },
  },
  support: SUPPORT,
};
const NEW = ['i35', 'i36'];

const scores = async (h: Harness, itemIds = NEW): Promise<number[]> => {
  const res = await call<unknown, ScoreResponse>(
    h.recommender,
    RecommenderServiceClient.prototype.score as never,
    { user, itemIds },
  );
  return res.items.map((i) => i.score);
};

/**
 * What core gives the request's user on the new items: content only (`warm` false), or with the
 * rows warmed on their recent interactions in the store (the seeded world has a few already).
 */
async function expected(model: RecommenderModel, store: FeatureStore, warm = true): Promise<number[]> {
  const catalog = new Map(ITEMS.map((i) => [i.id, i]));
  const found = await store.itemInteractions(NEW, { perItem: 50 });
  const users = new Map(USERS.map((u) => [u.id, u]));
  const warmItems = warm
    ? warmUpItems(
        model,
        [...found].map(([id, list]) => ({
          item: catalog.get(id)!,
          interactions: list.map((r) => ({ user: users.get(r.userId)!, value: r.value })),
        })),
      )
    : undefined;
  const adapted = adapt(model, [{ user: { id: '', features: FEATURES }, support: SUPPORT }], catalog, {
    ...(warmItems && { warmItems }),
  });
  const encoded = model.encodeItems(
    NEW.map((id) => catalog.get(id)!),
    warmItems ? { warmItems } : {},
  );
  const out = [...score(adapted, 0, encoded)];
  encoded.dispose();
  adapted.dispose();
  model.dispose();
  return out;
}

const ingest = (h: Harness, raters: number[], tag: string) =>
  call(h.featureStore, FeatureStoreServiceClient.prototype.ingestInteractions as never, {
    interactions: raters.flatMap((u) =>
      NEW.map((itemId, k) => ({
        eventId: `${tag}-${u}-${itemId}`,
        userId: `u${u}`,
        itemId,
        value: k === 0 ? 5 : 1,
        kind: InteractionKind.INTERACTION_KIND_RATING,
        eventTime: toTimestamp(new Date(Date.UTC(2002, 0, 1, 0, u))),
      })),
    ),
  });

/** Polls `check` until it holds (every 50 ms, up to `timeoutMs`); returns whether it did. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - (b[i] as number)) < 1e-4);

describe('new items warm up on their interactions', () => {
  let t: { store: FeatureStore; file: string; dispose(): void };
  let h1: Harness;
  let h2: Harness;
  let off: Harness;

  beforeAll(async () => {
    t = await tempStore();
    await seedWorld(t.store);
    for (const modelId of ['m1', 'm2'])
      await t.store.registry.registerModel({ modelId, algorithm: 'melu', artifactUri: modelId });
    await t.store.registry.promote('m1');
    const models = { m1: () => makeModel(1), m2: () => makeModel(2) };
    h1 = await startHarness(t.store, models, { freshnessMs: 60_000 });
    h2 = await startHarness(await openFeatureStore(t.file), models, { freshnessMs: 100 });
    off = await startHarness(await openFeatureStore(t.file), models, {
      warmupInteractions: 0,
      freshnessMs: 0,
    });
  });
  afterAll(async () => {
    await h1.close();
    await h2.close();
    await off.close();
    t.dispose();
  });

  it('scores new items with rows warmed on their interactions; more interactions move them', async () => {
    const content = await expected(makeModel(1), t.store, false);
    const before = await expected(makeModel(1), t.store);
    expect(close(before, content)).toBe(false); // the seeded ratings already moved them
    // A model's first warm-up runs in the background: traffic does not wait for it.
    expect(await eventually(async () => close(await scores(h1), before))).toBe(true);
    expect(await eventually(async () => close(await scores(h2), before))).toBe(true);
    // Warm-up off: content only.
    expect(close(await scores(off), content)).toBe(true);

    await ingest(h1, [0, 1, 2, 3], 'a');
    const warm = await expected(makeModel(1), t.store);
    // Rated 5 by four more users: up; rated 1: down.
    expect(warm[0]).toBeGreaterThan((before[0] as number) + 0.05);
    expect(warm[1]).toBeLessThan((before[1] as number) - 0.05);
    // The ingesting server checks on its next request (its interval is a minute).
    expect(await eventually(async () => close(await scores(h1), warm))).toBe(true);
    // The all-active catalog is re-encoded with the rows too.
    const rec = await call<unknown, RecommendResponse>(
      h1.recommender,
      RecommenderServiceClient.prototype.recommend as never,
      { user, k: 100, includeSeen: true },
    );
    const inCatalog = NEW.map((id) => rec.items.find((i) => i.itemId === id)?.score as number);
    expect(close(inCatalog, warm)).toBe(true);
    expect(rec.items.find((i) => i.itemId === 'i35')?.coldItem).toBe(true);
    // Another server on the store: within its freshness window.
    expect(await eventually(async () => close(await scores(h2), warm))).toBe(true);
    expect(close(await scores(off), content)).toBe(true);

    // Ingested through server 2: it checks at once; server 1 keeps its rows until its next
    // check (a minute away).
    await ingest(h2, [4, 5], 'b');
    const warmer = await expected(makeModel(1), t.store);
    expect(close(warmer, warm)).toBe(false);
    expect(await eventually(async () => close(await scores(h2), warmer))).toBe(true);
    expect(close(await scores(h1), warm)).toBe(true);

    const metrics = await h1.server.context.metrics.itemsWarmed.get();
    expect(metrics.values[0]?.value).toBeGreaterThanOrEqual(NEW.length * 3);
  });

  it('a newly promoted version warms the new items up for itself', async () => {
    await call(h1.registry, ModelRegistryServiceClient.prototype.promoteModel as never, { modelId: 'm2' });
    const warm = await expected(makeModel(2), t.store);
    expect(await eventually(async () => close(await scores(h1), warm))).toBe(true);
  });

  it('known (trained) items keep their own row', async () => {
    const before = await scores(h1, ['i20']);
    await call(h1.featureStore, FeatureStoreServiceClient.prototype.ingestInteractions as never, {
      interactions: [0, 1, 2].map((u) => ({
        eventId: `known-${u}`,
        userId: `u${u}`,
        itemId: 'i20',
        value: 5,
        kind: InteractionKind.INTERACTION_KIND_RATING,
        eventTime: toTimestamp(new Date(Date.UTC(2002, 1, 1, 0, u))),
      })),
    });
    expect(await scores(h1, ['i20'])).toEqual(before);
  });
});
