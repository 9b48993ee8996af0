/**
 * Registry polling: a promotion made in the registry directly (the trainer, another replica)
 * reaches the server on its own; and a version whose load failed is retried (with backoff on
 * polls, at once on an explicit PromoteModel) instead of being given up until a restart.
 */
import {
  RecommenderServiceClient,
  type ModelVersion,
  type RecommendRequest,
  type RecommendResponse,
} from '@warmstart/contracts';
import type { FeatureStore } from '@warmstart/feature-store';
import { retryDelayMs } from '../src/slots/model-manager';
import { call, startHarness, tempStore, type Harness } from './support/harness';
import { makeModel, seedWorld } from './support/world';

const req: RecommendRequest = { user: { userId: 'u1', features: {}, support: [] }, k: 3, includeSeen: false };
const servedBy = async (h: Harness) =>
  (
    await call<RecommendRequest, RecommendResponse>(
      h.recommender,
      RecommenderServiceClient.prototype.recommend as never,
      req,
    )
  ).model?.modelId;

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A model factory that throws on its first `failures` loads. */
function flaky(seed: number, failures: number) {
  let left = failures;
  return () => {
    if (left-- > 0) throw new Error('artifact temporarily unreadable');
    return makeModel(seed);
  };
}

describe('registry polling and retried loads', () => {
  let t: { store: FeatureStore; dispose(): void };
  beforeEach(async () => {
    t = await tempStore();
    await seedWorld(t.store);
    for (const id of ['m1', 'm2', 'flaky'])
      await t.store.registry.registerModel({ modelId: id, algorithm: 'melu', artifactUri: id });
    await t.store.registry.promote('m1');
  });
  afterEach(() => t.dispose());

  it('picks up a promotion made in the registry directly, within the poll interval', async () => {
    const h = await startHarness(
      t.store,
      { m1: () => makeModel(1), m2: () => makeModel(2) },
      { pollIntervalMs: 100 },
    );
    try {
      expect(await servedBy(h)).toBe('m1');
      await t.store.registry.promote('m2'); // not through this server
      expect(await eventually(async () => (await servedBy(h)) === 'm2', 3000)).toBe(true);
    } finally {
      await h.close();
    }
  });

  it('retries a version that failed to load on later polls; the old version serves meanwhile', async () => {
    const h = await startHarness(
      t.store,
      { m1: () => makeModel(1), flaky: flaky(3, 1) },
      { pollIntervalMs: 50 },
    );
    try {
      await t.store.registry.promote('flaky');
      expect(await eventually(async () => (h.loads.get('flaky') ?? 0) >= 1, 3000)).toBe(true);
      expect(await servedBy(h)).toBe('m1');
      // The first retry waits retryDelayMs(1, 50) = 1 s, then the load succeeds.
      expect(await eventually(async () => (await servedBy(h)) === 'flaky', 3000 + retryDelayMs(1, 50))).toBe(
        true,
      );
      expect(h.loads.get('flaky')).toBe(2);
    } finally {
      await h.close();
    }
  });

  it('retries at once when the failed version is promoted again (no polling)', async () => {
    const h = await startHarness(t.store, { m1: () => makeModel(1), flaky: flaky(3, 1) });
    try {
      const promote = () =>
        call<unknown, { model: ModelVersion }>(h.registry, h.registry.promoteModel as never, {
          modelId: 'flaky',
        });
      await promote();
      expect(h.loads.get('flaky')).toBe(1);
      expect(await servedBy(h)).toBe('m1');
      await promote();
      expect(h.loads.get('flaky')).toBe(2);
      expect(await servedBy(h)).toBe('flaky');
    } finally {
      await h.close();
    }
  });

  it('backs off exponentially, from the poll interval (at least 1 s) up to 5 minutes', () => {
    expect([1, 2, 3].map((n) => retryDelayMs(n, 50))).toEqual([1000, 2000, 4000]);
    expect(retryDelayMs(2, 5000)).toBe(10_000);
    expect(retryDelayMs(40, 5000)).toBe(300_000);
  });
});
