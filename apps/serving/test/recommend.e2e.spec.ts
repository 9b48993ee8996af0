import * as grpc from '@grpc/grpc-js';
import {
  InteractionKind,
  SERVICE_NAMES,
  toTimestamp,
  type RecommendRequest,
  type ScoreResponse,
} from '@warmstart/contracts';
import type { FeatureStore } from '@warmstart/feature-store';
import { call, recommend, healthClient, startHarness, tempStore, type Harness } from './support/harness';
import { makeModel, seedWorld } from './support/world';
import { eventually } from './support/warmup';

describe('RecommenderService end to end (real server, grpc-js client)', () => {
  let h: Harness;
  let store: FeatureStore;
  let dispose: () => void;

  beforeAll(async () => {
    ({ store, dispose } = await tempStore());
    await seedWorld(store);
    await store.registry.registerModel({ modelId: 'm1', algorithm: 'melu', artifactUri: 'm1' });
    await store.registry.promote('m1');
    h = await startHarness(store, { m1: () => makeModel(1) });
  });
  afterAll(async () => {
    await h.close();
    dispose();
  });

  it('recommends for an existing user from stored history, excluding seen items', async () => {
    const history = await store.recentInteractions('u1', 100);
    const res = await recommend(h, { user: { userId: 'u1', features: {}, support: [] }, k: 5 });
    expect(res.model).toEqual({ modelId: 'm1', version: 1 });
    expect(res.items).toHaveLength(5);
    expect(res.supportSize).toBe(history.length);
    const seen = new Set(history.map((r) => r.itemId));
    for (const it of res.items) expect(seen.has(it.itemId)).toBe(false);
    const scores = res.items.map((i) => i.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    for (const s of scores) expect(s).toBeGreaterThanOrEqual(1);
    // Items i30.. had no ID embedding in training: scored from content.
    for (const it of res.items) expect(it.coldItem).toBe(Number(it.itemId.slice(1)) >= 30);
  });

  it('keeps seen items when include_seen is set and answers from the cache the second time', async () => {
    const first = await recommend(h, {
      user: { userId: 'u2', features: {}, support: [] },
      k: 40,
      includeSeen: true,
    });
    expect(first.items).toHaveLength(40);
    const second = await recommend(h, {
      user: { userId: 'u2', features: {}, support: [] },
      k: 40,
      includeSeen: true,
    });
    expect(second.adaptedFromCache).toBe(true);
    expect(second.items).toEqual(first.items);
  });

  it('adapts a brand-new user from inline features and support', async () => {
    const res = await recommend(h, {
      user: {
        userId: '',
        features: {
          gender: { kind: { $case: 'categorical', value: 'F' } },
          age: { kind: { $case: 'numeric', value: 33 } },
        },
        support: [
          { itemId: 'i3', value: 5 },
          { itemId: 'i4', value: 1 },
        ],
      },
      k: 3,
    });
    expect(res.supportSize).toBe(2);
    expect(res.adaptedFromCache).toBe(false);
    expect(res.items.map((i) => i.itemId)).not.toContain('i3');
    expect(res.items.map((i) => i.itemId)).not.toContain('i4');
    // The support actually changes the adapted state: opposite ratings give different scores.
    const flipped = await recommend(h, {
      user: {
        userId: '',
        features: {},
        support: [
          { itemId: 'i3', value: 1 },
          { itemId: 'i4', value: 5 },
        ],
      },
      candidates: { source: { $case: 'itemIds', value: { ids: ['i10', 'i11'] } } },
      k: 2,
    });
    const again = await recommend(h, {
      user: {
        userId: '',
        features: {},
        support: [
          { itemId: 'i3', value: 5 },
          { itemId: 'i4', value: 1 },
        ],
      },
      candidates: { source: { $case: 'itemIds', value: { ids: ['i10', 'i11'] } } },
      k: 2,
    });
    expect(flipped.items.map((i) => i.score)).not.toEqual(again.items.map((i) => i.score));
  });

  it('recommends an item within moments of UpsertItems (all-active), and at once among items available since', async () => {
    const before = new Date();
    await call(h.featureStore, h.featureStore.upsertItems as never, {
      items: [
        {
          id: 'brand-new',
          features: {
            genres: { kind: { $case: 'multiCategorical', value: { values: ['comedy', 'sci-fi'] } } },
          },
          availableAt: toTimestamp(before),
          status: 0,
        },
      ],
    });
    // The catalog applies the write in the background, within --write-coalesce-ms (100 ms).
    const allActive = () => recommend(h, { user: { userId: 'u3', features: {}, support: [] }, k: 1000 });
    expect(
      await eventually(async () => (await allActive()).items.some((i) => i.itemId === 'brand-new')),
    ).toBe(true);
    const fresh = (await allActive()).items.find((i) => i.itemId === 'brand-new');
    expect(fresh).toBeDefined();
    expect(fresh?.coldItem).toBe(true);
    const since = await recommend(h, {
      user: { userId: 'u3', features: {}, support: [] },
      candidates: { source: { $case: 'availableSince', value: toTimestamp(before) } },
      k: 10,
    });
    expect(since.items.map((i) => i.itemId)).toEqual(['brand-new']);
  });

  it('invalidates a user’s adapted state when new interactions arrive', async () => {
    const req = { user: { userId: 'u4', features: {}, support: [] }, k: 3 };
    await recommend(h, req);
    const cached = await recommend(h, req);
    expect(cached.adaptedFromCache).toBe(true);
    const res = await call<unknown, { ingestedCount: number; duplicateCount: number }>(
      h.featureStore,
      h.featureStore.ingestInteractions as never,
      {
        interactions: [
          {
            eventId: 'new-u4-1',
            userId: 'u4',
            itemId: 'i39',
            value: 5,
            kind: InteractionKind.INTERACTION_KIND_RATING,
            eventTime: toTimestamp(new Date()),
          },
        ],
      },
    );
    expect(res).toEqual({ ingestedCount: 1, duplicateCount: 0 });
    const after = await recommend(h, req);
    expect(after.adaptedFromCache).toBe(false);
    expect(after.supportSize).toBe(cached.supportSize + 1);
    expect(after.items.map((i) => i.itemId)).not.toContain('i39');
  });

  it('scores given items in request order', async () => {
    const res = await call<unknown, ScoreResponse>(h.recommender, h.recommender.score as never, {
      user: { userId: 'u5', features: {}, support: [] },
      itemIds: ['i7', 'i1', 'i7'],
    });
    expect(res.items.map((i) => i.itemId)).toEqual(['i7', 'i1', 'i7']);
    expect(res.items[0]?.score).toBe(res.items[2]?.score);
    expect(res.model?.modelId).toBe('m1');
  });

  it.each([
    ['empty user', { user: { userId: '', features: {}, support: [] } }, 'user.user_id'],
    ['missing user', { user: undefined }, 'user'],
    ['k = 0', { user: { userId: 'u1', features: {}, support: [] }, k: 0 }, 'k'],
    ['k above the maximum', { user: { userId: 'u1', features: {}, support: [] }, k: 1001 }, 'k'],
    [
      'unknown candidates',
      {
        user: { userId: 'u1', features: {}, support: [] },
        candidates: { source: { $case: 'itemIds', value: { ids: ['i1', 'nope', 'nada'] } } },
      },
      'candidates.item_ids.ids: unknown item ids: "nope", "nada"',
    ],
    [
      'NaN support value',
      { user: { userId: '', features: {}, support: [{ itemId: 'i1', value: NaN }] } },
      'user.support[0].value',
    ],
    [
      'rating out of range',
      { user: { userId: '', features: {}, support: [{ itemId: 'i1', value: 9 }] } },
      'user.support[0].value',
    ],
    [
      'unknown support item',
      { user: { userId: '', features: {}, support: [{ itemId: 'zz', value: 3 }] } },
      'user.support[0].item_id',
    ],
    [
      'NaN feature',
      { user: { userId: 'u1', features: { age: { kind: { $case: 'numeric', value: NaN } } }, support: [] } },
      'user.features["age"]',
    ],
    [
      'oversized support',
      {
        user: {
          userId: '',
          features: {},
          support: Array.from({ length: 501 }, () => ({ itemId: 'i1', value: 3 })),
        },
      },
      'user.support',
    ],
  ])('answers INVALID_ARGUMENT naming the field: %s', async (_name, req, field) => {
    const err = await recommend(h, req as Partial<RecommendRequest>).catch((e: grpc.ServiceError) => e);
    expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    expect((err as grpc.ServiceError).details).toContain(field);
  });

  it('answers NOT_FOUND for an unknown user id without inline data', async () => {
    const err = (await recommend(h, { user: { userId: 'ghost', features: {}, support: [] } }).catch(
      (e) => e,
    )) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toContain('ghost');
  });

  it('counts requests by method and status in the Prometheus endpoint', async () => {
    const res = await fetch(`http://127.0.0.1:${h.server.metricsPort}/metrics`);
    const text = await res.text();
    expect(text).toMatch(
      /warmstart_grpc_requests_total\{method="RecommenderService\/Recommend",code="OK"\} \d+/,
    );
    expect(text).toMatch(
      /warmstart_grpc_requests_total\{method="RecommenderService\/Recommend",code="INVALID_ARGUMENT"\} 10/,
    );
    expect(text).toContain('warmstart_model_loaded{model_id="m1",version="1"} 1');
    expect(text).toMatch(/warmstart_adapted_cache_hit_ratio 0\.\d+/);
    expect(text).toMatch(/warmstart_adapt_batch_size_count \d+/);
    // The default --max-in-flight is the adaptive limit; every call above has been answered.
    expect(text).toMatch(/warmstart_concurrency_limit \d+/);
    expect(text).toContain('warmstart_calls_in_flight 0');
  });

  it('reports per-service health', async () => {
    const { HealthClient } = healthClient();
    const client = new HealthClient(h.address, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<string>((resolve, reject) =>
        client.check({ service }, (err: Error | null, res: { status: string }) =>
          err ? reject(err) : resolve(res.status),
        ),
      );
    expect(await check(SERVICE_NAMES.recommender)).toBe('SERVING');
    expect(await check(SERVICE_NAMES.featureStore)).toBe('SERVING');
    expect(await check('')).toBe('SERVING');
    client.close();
  });
});
