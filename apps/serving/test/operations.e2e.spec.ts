import * as grpc from '@grpc/grpc-js';
import {
  InteractionKind,
  RecommendRequest,
  RecommenderServiceClient,
  toTimestamp,
  type GetItemsResponse,
  type ListNewItemsResponse,
  type RecommendResponse,
  type ScoreRequest,
  type ScoreResponse,
} from '@warmstart/contracts';
import type { FeatureStore } from '@warmstart/feature-store';
import pino from 'pino';
import { call, codeOf, startHarness, tempStore, type Harness } from './support/harness';
import { makeModel, seedWorld } from './support/world';
import { tokenEntry } from './support/tokens';

/** Inline-support requests are never cached, so each one needs an adaptation. */
const inlineReq: RecommendRequest = {
  user: { userId: '', features: {}, support: [{ itemId: 'i1', value: 4 }] },
  k: 2,
  includeSeen: false,
};
const rec = (h: Harness, req = inlineReq, opts: Partial<grpc.CallOptions> = {}, md = new grpc.Metadata()) =>
  call<RecommendRequest, RecommendResponse>(
    h.recommender,
    RecommenderServiceClient.prototype.recommend as never,
    req,
    opts,
    md,
  );

async function world(): Promise<{ store: FeatureStore; dispose(): void }> {
  const t = await tempStore();
  await seedWorld(t.store);
  await t.store.registry.registerModel({ modelId: 'm1', algorithm: 'melu', artifactUri: 'm1' });
  await t.store.registry.promote('m1');
  return t;
}

const bearer = (token: string) => {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
};

describe('operations over gRPC', () => {
  let t: { store: FeatureStore; dispose(): void };
  beforeEach(async () => {
    t = await world();
  });
  afterEach(() => t.dispose());

  it('checks bearer tokens (UNAUTHENTICATED otherwise) while health stays open', async () => {
    const h = await startHarness(
      t.store,
      { m1: () => makeModel(1) },
      { authTokens: [tokenEntry('a', 'recommend', 's3cret'), tokenEntry('b', 'recommend,ingest', 'other')] },
    );
    try {
      expect(await codeOf(rec(h))).toBe('UNAUTHENTICATED');
      expect(await codeOf(rec(h, inlineReq, {}, bearer('wrong')))).toBe('UNAUTHENTICATED');
      expect(await codeOf(rec(h, inlineReq, {}, bearer('s3cret')))).toBe('OK');
      expect(await codeOf(rec(h, inlineReq, {}, bearer('other')))).toBe('OK');
      const getItems = call(h.featureStore, h.featureStore.getItems as never, { ids: ['i1'] });
      expect(await codeOf(getItems)).toBe('UNAUTHENTICATED');
    } finally {
      await h.close();
    }
  });

  it('answers RESOURCE_EXHAUSTED when the adaptation queue is full, and serves the rest', async () => {
    const h = await startHarness(
      t.store,
      { m1: () => makeModel(1) },
      { queueLimit: 2, batchMaxSize: 64, batchMaxWaitMs: 400 },
    );
    try {
      const codes = await Promise.all(Array.from({ length: 6 }, () => codeOf(rec(h))));
      expect(codes.filter((c) => c === 'OK')).toHaveLength(2);
      expect(codes.filter((c) => c === 'RESOURCE_EXHAUSTED')).toHaveLength(4);
    } finally {
      await h.close();
    }
  });

  it('answers RESOURCE_EXHAUSTED beyond the in-flight call limit, and serves the calls within it', async () => {
    const h = await startHarness(
      t.store,
      { m1: () => makeModel(1) },
      { maxInFlight: 2, queueLimit: 100, batchMaxSize: 64, batchMaxWaitMs: 400 },
    );
    try {
      const errors = await Promise.all(
        Array.from({ length: 5 }, () =>
          rec(h).then(
            () => undefined,
            (e: grpc.ServiceError) => e,
          ),
        ),
      );
      expect(errors.filter((e) => e === undefined)).toHaveLength(2);
      const refused = errors.filter((e): e is grpc.ServiceError => e !== undefined);
      expect(refused).toHaveLength(3);
      for (const e of refused) {
        expect(e.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
        expect(e.details).toMatch(/too many concurrent calls \(limit 2\)/);
      }
      const metrics = await (await fetch(`http://127.0.0.1:${h.server.metricsPort}/metrics`)).text();
      expect(metrics).toContain('warmstart_concurrency_limit 2');
    } finally {
      await h.close();
    }
  });

  it('refuses a request above --max-message-bytes with RESOURCE_EXHAUSTED and keeps serving', async () => {
    const h = await startHarness(t.store, { m1: () => makeModel(1) }, { maxMessageBytes: 2048 });
    try {
      const big: RecommendRequest = {
        ...inlineReq,
        candidates: {
          source: { $case: 'itemIds', value: { ids: Array.from({ length: 300 }, (_, i) => `item-${i}`) } },
        },
      };
      expect(RecommendRequest.encode(big).finish().length).toBeGreaterThan(2048);
      const err = (await rec(h, big).catch((e) => e)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(err.details).toMatch(/larger than max/i);
      expect(await codeOf(rec(h))).toBe('OK');
    } finally {
      await h.close();
    }
  });

  it("answers Score's bad input with INVALID_ARGUMENT naming the field", async () => {
    const h = await startHarness(t.store, { m1: () => makeModel(1) });
    try {
      const score = (r: ScoreRequest) =>
        call<ScoreRequest, ScoreResponse>(
          h.recommender,
          RecommenderServiceClient.prototype.score as never,
          r,
        );
      const user = { userId: 'u1', features: {}, support: [] };
      const ok = await score({ user, itemIds: ['i3', 'i1', 'i3'] });
      expect(ok.items.map((i) => i.itemId)).toEqual(['i3', 'i1', 'i3']);
      expect(ok.items.every((i) => Number.isFinite(i.score))).toBe(true);
      const fails = async (r: ScoreRequest) => (await score(r).catch((e) => e)) as grpc.ServiceError;

      const unknown = await fails({ user, itemIds: ['i1', 'nope', 'gone'] });
      expect(unknown.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(unknown.details).toBe('item_ids: unknown item ids: "nope", "gone"');

      const none = await fails({ user, itemIds: [] });
      expect(none.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(none.details).toMatch(/^item_ids:/);

      const emptyId = await fails({ user, itemIds: ['i1', ''] });
      expect(emptyId.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(emptyId.details).toMatch(/^item_ids\[1\]/);

      const nan = await fails({
        user: { userId: '', features: {}, support: [{ itemId: 'i1', value: NaN }] },
        itemIds: ['i2'],
      });
      expect(nan.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(nan.details).toMatch(/^user\.support\[0\]\.value/);

      const noUser = await fails({ itemIds: ['i2'] });
      expect(noUser.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(noUser.details).toMatch(/^user/);

      expect(
        (await fails({ user: { userId: 'stranger', features: {}, support: [] }, itemIds: ['i2'] })).code,
      ).toBe(grpc.status.NOT_FOUND);
    } finally {
      await h.close();
    }
  });

  it('logs one structured line per call: method, status, latency, model version', async () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const h = await startHarness(t.store, { m1: () => makeModel(1) }, {}, { log });
    try {
      await rec(h);
      await codeOf(rec(h, { ...inlineReq, k: 0 }));
      const rpc = lines.filter((l) => l['msg'] === 'rpc');
      expect(rpc).toHaveLength(2);
      expect(rpc[0]).toMatchObject({ method: 'RecommenderService/Recommend', status: 'OK', model: 'm1@1' });
      expect(rpc[0]?.['level']).toBe(30);
      expect(typeof rpc[0]?.['latencyMs']).toBe('number');
      expect(rpc[0]?.['latencyMs'] as number).toBeGreaterThanOrEqual(0);
      expect(rpc[0]).not.toHaveProperty('error');
      expect(rpc[1]).toMatchObject({
        method: 'RecommenderService/Recommend',
        status: 'INVALID_ARGUMENT',
        model: 'm1@1',
        level: 40,
      });
      expect(rpc[1]?.['error']).toMatch(/^k:/);
    } finally {
      await h.close();
    }
  });

  it('honours deadlines: a call that expires while queued is answered DEADLINE_EXCEEDED and never adapted', async () => {
    const h = await startHarness(t.store, { m1: () => makeModel(1) }, { batchMaxWaitMs: 300 });
    // Batches run before the call (the start-up rehearsal) are not this call's.
    const batches = async () =>
      (await h.server.context.metrics.batchSize.get()).values.find((v) => v.metricName?.endsWith('_count'))
        ?.value ?? 0;
    try {
      const before = await batches();
      const code = await codeOf(rec(h, inlineReq, { deadline: Date.now() + 100 }));
      expect(code).toBe('DEADLINE_EXCEEDED');
      // The server side records the same status once the batch wakes up.
      const serverCode = async () =>
        (await h.server.context.metrics.requests.get()).values.find(
          (v) => v.labels.method === 'RecommenderService/Recommend',
        )?.labels.code;
      for (let i = 0; i < 50 && (await serverCode()) === undefined; i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(await serverCode()).toBe('DEADLINE_EXCEEDED');
      expect(await batches()).toBe(before);
    } finally {
      await h.close();
    }
  });

  it('serves the feature store: batched gets with missing ids, new-item pages, validation naming the row', async () => {
    const h = await startHarness(t.store, { m1: () => makeModel(1) }, { maxBatchRows: 5 });
    try {
      const got = await call<unknown, GetItemsResponse>(h.featureStore, h.featureStore.getItems as never, {
        ids: ['i2', 'zz', 'i3'],
      });
      expect(got.items.map((i) => i.id)).toEqual(['i2', 'i3']);
      expect(got.missingIds).toEqual(['zz']);
      expect(got.items[0]?.features['genres']?.kind?.$case).toBe('multiCategorical');

      const page1 = await call<unknown, ListNewItemsResponse>(
        h.featureStore,
        h.featureStore.listNewItems as never,
        {
          since: toTimestamp(new Date(Date.UTC(2000, 0, 36))),
          page: { pageSize: 3, pageToken: '' },
        },
      );
      expect(page1.items.map((i) => i.id)).toEqual(['i35', 'i36', 'i37']);
      const page2 = await call<unknown, ListNewItemsResponse>(
        h.featureStore,
        h.featureStore.listNewItems as never,
        {
          since: toTimestamp(new Date(Date.UTC(2000, 0, 36))),
          page: { pageSize: 3, pageToken: page1.nextPageToken },
        },
      );
      expect(page2.items.map((i) => i.id)).toEqual(['i38', 'i39']);
      expect(page2.nextPageToken).toBe('');

      const tooMany = await call(h.featureStore, h.featureStore.getItems as never, {
        ids: ['a', 'b', 'c', 'd', 'e', 'f'],
      }).catch((e) => e);
      expect((tooMany as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((tooMany as grpc.ServiceError).details).toMatch(/^ids: holds 6 entries/);

      const bad = await call(h.featureStore, h.featureStore.ingestInteractions as never, {
        interactions: [
          {
            eventId: 'ok-1',
            userId: 'u1',
            itemId: 'i1',
            value: 4,
            kind: InteractionKind.INTERACTION_KIND_RATING,
            eventTime: toTimestamp(new Date()),
          },
          {
            eventId: 'bad',
            userId: 'u1',
            itemId: 'i1',
            value: NaN,
            kind: InteractionKind.INTERACTION_KIND_RATING,
            eventTime: toTimestamp(new Date()),
          },
        ],
      }).catch((e) => e);
      expect((bad as grpc.ServiceError).details).toMatch(/^interactions\[1\]\.value/);
      // Nothing half-written: the valid first row was not stored either.
      expect((await t.store.userWatermark('u1')).count).toBe(6);

      const unknownItem = await call(h.featureStore, h.featureStore.ingestInteractions as never, {
        interactions: [
          {
            eventId: 'x',
            userId: 'u1',
            itemId: 'nope',
            value: 4,
            kind: InteractionKind.INTERACTION_KIND_RATING,
            eventTime: toTimestamp(new Date()),
          },
        ],
      }).catch((e) => e);
      expect((unknownItem as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
      expect((unknownItem as grpc.ServiceError).details).toContain('interactions[0].item_id');

      const emptyId = await call(h.featureStore, h.featureStore.upsertUsers as never, {
        users: [
          { id: 'ok', features: {} },
          { id: '', features: {} },
        ],
      }).catch((e) => e);
      expect((emptyId as grpc.ServiceError).details).toMatch(/^users\[1\]\.id: must not be empty/);
      expect((await t.store.getUsers(['ok'])).size).toBe(0);
    } finally {
      await h.close();
    }
  });

  it('drains in-flight calls on shutdown: they complete, later calls are refused', async () => {
    const h = await startHarness(
      t.store,
      { m1: () => makeModel(1) },
      { batchMaxWaitMs: 300, batchMaxSize: 64 },
    );
    const inflight = Array.from({ length: 5 }, () => rec(h));
    // Wait until all five are inside the server (queued for the 300 ms batch).
    for (let i = 0; i < 100 && queued(h) < 5; i++) await new Promise((r) => setTimeout(r, 10));
    expect(queued(h)).toBe(5);
    const closing = h.close();
    const results = await Promise.all(inflight.map(codeOf));
    await closing;
    expect(results).toEqual(['OK', 'OK', 'OK', 'OK', 'OK']);
    const after = new RecommenderServiceClient(h.address, grpc.credentials.createInsecure());
    expect(
      await codeOf(call(after, after.recommend as never, inlineReq, { deadline: Date.now() + 1000 })),
    ).toMatch(/UNAVAILABLE|DEADLINE_EXCEEDED/);
    after.close();
  });
});

function queued(h: Harness): number {
  const slot = h.server.context.models.acquire();
  slot.leave();
  return slot.batcher.queued;
}
