import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import {
  RecommenderServiceClient,
  SERVICE_NAMES,
  type ModelVersion,
  type RecommendRequest,
  type RecommendResponse,
} from '@warmstart/contracts';
import type { FeatureStore } from '@warmstart/feature-store';
import { call, codeOf, healthClient, startHarness, tempStore, type Harness } from './support/harness';
import { makeModel, seedWorld } from './support/world';

const recommendReq = (userId: string): RecommendRequest => ({
  user: { userId, features: {}, support: [] },
  k: 3,
  includeSeen: false,
});
const rec = (h: Harness, userId: string) =>
  call<RecommendRequest, RecommendResponse>(
    h.recommender,
    RecommenderServiceClient.prototype.recommend as never,
    recommendReq(userId),
  );
const promote = (h: Harness, modelId: string) =>
  call<unknown, { model: ModelVersion; previous?: ModelVersion }>(
    h.registry,
    h.registry.promoteModel as never,
    { modelId },
  );

describe('model lifecycle over gRPC: no model, promotion, hot swap, failed load, rollback', () => {
  let h: Harness;
  // The server's log lines (pino JSON), to see its start-up warning.
  const logged: { level: number; msg: string }[] = [];
  const capture = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  let store: FeatureStore;
  let dispose: () => void;

  beforeAll(async () => {
    ({ store, dispose } = await tempStore());
    await seedWorld(store);
    for (const id of ['m1', 'm2', 'broken'])
      await store.registry.registerModel({ modelId: id, algorithm: 'melu', artifactUri: id });
    h = await startHarness(store, { m1: () => makeModel(1), m2: () => makeModel(2) }, {}, { log: capture });
  });
  afterAll(async () => {
    await h.close();
    dispose();
  });

  it('starts without a promoted model: it warns, Recommend is FAILED_PRECONDITION and health says NOT_SERVING', async () => {
    const warned = logged.filter((l) => l.level === 40).map((l) => l.msg);
    expect(warned).toContainEqual(
      expect.stringMatching(/^no promoted model yet: Recommend and Score answer FAILED_PRECONDITION/),
    );
    const err = (await rec(h, 'u1').catch((e) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/no model is promoted/);
    const { HealthClient } = healthClient();
    const health = new HealthClient(h.address, grpc.credentials.createInsecure());
    const check = await new Promise<string>((resolve, reject) =>
      health.check({ service: SERVICE_NAMES.recommender }, (e: Error | null, r: { status: string }) =>
        e ? reject(e) : resolve(r.status),
      ),
    );
    expect(check).toBe('NOT_SERVING');
    // Watch streams the transition to SERVING when a model is promoted.
    const stream = health.watch({ service: SERVICE_NAMES.recommender });
    const statuses: string[] = [];
    const serving = new Promise<void>((resolve) =>
      stream.on('data', (m: { status: string }) => {
        statuses.push(m.status);
        if (m.status === 'SERVING') resolve();
      }),
    );
    stream.on('error', () => undefined);
    const res = await promote(h, 'm1');
    expect(res.model.modelId).toBe('m1');
    await serving;
    expect(statuses).toEqual(['NOT_SERVING', 'SERVING']);
    stream.cancel();
    health.close();
    expect((await rec(h, 'u1')).model).toEqual({ modelId: 'm1', version: 1 });
  });

  it('hot-swaps to a newly promoted version under concurrent load with zero failed requests', async () => {
    let stop = false;
    const versions = new Set<string>();
    let failures = 0;
    let completed = 0;
    const worker = async (w: number) => {
      while (!stop) {
        try {
          const r = await rec(h, `u${w % 10}`);
          versions.add(r.model?.modelId ?? '?');
          completed++;
        } catch {
          failures++;
        }
      }
    };
    const workers = Array.from({ length: 8 }, (_, w) => worker(w));
    await new Promise((r) => setTimeout(r, 150));
    const res = await promote(h, 'm2');
    expect(res.previous?.modelId).toBe('m1');
    await new Promise((r) => setTimeout(r, 150));
    stop = true;
    await Promise.all(workers);
    expect(failures).toBe(0);
    expect(completed).toBeGreaterThan(8);
    expect([...versions].sort()).toEqual(['m1', 'm2']);
    expect((await rec(h, 'u1')).model?.modelId).toBe('m2');
  });

  it('keeps serving the old version when a promoted artifact fails to load', async () => {
    await promote(h, 'broken');
    expect(h.loads.get('broken')).toBe(1);
    const r = await rec(h, 'u2');
    expect(r.model?.modelId).toBe('m2');
  });

  it('rolls back, and answers NOT_FOUND / INVALID_ARGUMENT / FAILED_PRECONDITION on bad registry calls', async () => {
    const back = await call<unknown, { model: ModelVersion }>(
      h.registry,
      h.registry.rollbackModel as never,
      {},
    );
    expect(back.model.modelId).toBe('m2');
    const models = await call<unknown, { models: ModelVersion[] }>(
      h.registry,
      h.registry.listModels as never,
      { status: 0 },
    );
    expect(models.models.map((m) => m.modelId)).toEqual(['broken', 'm2', 'm1']);
    expect(await codeOf(call(h.registry, h.registry.getModel as never, { modelId: 'nope' }))).toBe(
      'NOT_FOUND',
    );
    expect(await codeOf(call(h.registry, h.registry.promoteModel as never, { modelId: 'nope' }))).toBe(
      'NOT_FOUND',
    );
    expect(await codeOf(call(h.registry, h.registry.getModel as never, { modelId: '' }))).toBe(
      'INVALID_ARGUMENT',
    );
    await call(h.registry, h.registry.rollbackModel as never, {});
    expect(await codeOf(call(h.registry, h.registry.rollbackModel as never, {}))).toBe('FAILED_PRECONDITION');
  });
});
