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
} from '@warmstart/contracts';
import { openFeatureStore, type FeatureStore } from '@warmstart/feature-store';
import { call, startHarness, tempStore, type Harness } from './support/harness';
import { NEW, close, eventually, expected, scores, user } from './support/warmup';
import { makeModel, seedWorld } from './support/world';

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
    const on = { warmupInteractions: 50 };
    h1 = await startHarness(t.store, models, { ...on, freshnessMs: 60_000 });
    h2 = await startHarness(await openFeatureStore(t.file), models, { ...on, freshnessMs: 100 });
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
