/**
 * Freshness across replicas: two servers on one SQLite file. Writes made through one server, or
 * straight into the store (another replica, `trainer import`), reach the other server's
 * all-active catalog (new and retired items) and its adapted-state cache (user features and
 * interactions). And the adapted-state key (the user's watermark) is read before the history, so
 * an interaction landing between the two reads never leaves a stale state under the new key.
 */
import {
  FeatureStoreServiceClient,
  RecommenderServiceClient,
  type RecommendRequest,
  type RecommendResponse,
} from '@warmstart/contracts';
import { openFeatureStore, type FeatureStore } from '@warmstart/feature-store';
import { FeatureStoreAdapter } from '../src/adapters/feature-store-adapter';
import type { Rating } from '../src/ports/types';
import { call, startHarness, tempStore, type Harness } from './support/harness';
import { ITEMS, makeModel, seedWorld } from './support/world';

const allActive = (userId: string, k = 100): RecommendRequest => ({
  user: { userId, features: {}, support: [] },
  k,
  includeSeen: true,
});
const rec = (h: Harness, req: RecommendRequest) =>
  call<RecommendRequest, RecommendResponse>(
    h.recommender,
    RecommenderServiceClient.prototype.recommend as never,
    req,
  );
const ids = async (h: Harness, userId = 'u1') => (await rec(h, allActive(userId))).items.map((i) => i.itemId);

/** Polls `check` until it holds (every 50 ms, up to `timeoutMs`); returns whether it did. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('freshness across two servers sharing one store', () => {
  let t: { store: FeatureStore; file: string; dispose(): void };
  let h1: Harness;
  let h2: Harness;

  beforeAll(async () => {
    t = await tempStore();
    await seedWorld(t.store);
    await t.store.registry.registerModel({ modelId: 'm1', algorithm: 'melu', artifactUri: 'm1' });
    await t.store.registry.promote('m1');
    h1 = await startHarness(t.store, { m1: () => makeModel(1) });
    h2 = await startHarness(await openFeatureStore(t.file), { m1: () => makeModel(1) });
  });
  afterAll(async () => {
    await h1.close();
    await h2.close();
    t.dispose();
  });

  it('an item upserted through server 1 shows in server 2; one retired in the store leaves it', async () => {
    expect(await ids(h2)).toHaveLength(40);
    expect(await ids(h2)).not.toContain('fresh');
    await call(h1.featureStore, FeatureStoreServiceClient.prototype.upsertItems as never, {
      items: [
        {
          id: 'fresh',
          features: {
            genres: { kind: { $case: 'multiCategorical', value: { values: ['drama'] } } },
            year: { kind: { $case: 'numeric', value: 1999 } },
          },
          status: 0,
        },
      ],
    });
    // The writing server: within --write-coalesce-ms (applied in the background).
    expect(await eventually(async () => (await ids(h1)).includes('fresh'))).toBe(true);
    expect(await eventually(async () => (await ids(h2)).includes('fresh'))).toBe(true);

    expect(await ids(h2)).toContain('i5');
    // Server 2's store now holds i5 (active) in its read cache.
    await call(h2.featureStore, FeatureStoreServiceClient.prototype.getItems as never, { ids: ['i5'] });
    // Written straight into the database, as another replica or `trainer import` would.
    const other = await openFeatureStore(t.file);
    try {
      await other.upsertItems([{ ...ITEMS[5]!, status: 'retired' }]);
    } finally {
      await other.close();
    }
    expect(await eventually(async () => !(await ids(h2)).includes('i5'))).toBe(true);
    expect(await eventually(async () => !(await ids(h1)).includes('i5'))).toBe(true);
    // An explicit candidate list naming the retired item does not return it either (the store's
    // read cache of the changed item was dropped when the catalog saw the change).
    const explicit = await rec(h2, {
      ...allActive('u1'),
      candidates: { source: { $case: 'itemIds', value: { ids: ['i5', 'i6'] } } },
    });
    expect(explicit.items.map((i) => i.itemId)).toEqual(['i6']);
  });

  it("another writer's user features and interactions invalidate server 2's adapted state at once", async () => {
    await rec(h2, allActive('u3', 3));
    expect((await rec(h2, allActive('u3', 3))).adaptedFromCache).toBe(true);

    await call(h1.featureStore, FeatureStoreServiceClient.prototype.upsertUsers as never, {
      users: [
        {
          id: 'u3',
          features: {
            gender: { kind: { $case: 'categorical', value: 'M' } },
            age: { kind: { $case: 'numeric', value: 61 } },
          },
        },
      ],
    });
    const afterFeatures = await rec(h2, allActive('u3', 3));
    expect(afterFeatures.adaptedFromCache).toBe(false);
    expect((await rec(h2, allActive('u3', 3))).adaptedFromCache).toBe(true);

    const before = afterFeatures.supportSize;
    await t.store.ingestInteractions([
      { eventId: 'fresh-u3', userId: 'u3', itemId: 'i9', value: 5, kind: 'rating', eventTime: new Date() },
    ]);
    const afterInteraction = await rec(h2, allActive('u3', 3));
    expect(afterInteraction.adaptedFromCache).toBe(false);
    // Server 2's store had the old history in its read cache: the new watermark dropped it.
    expect(afterInteraction.supportSize).toBe(before + 1);
  });
});

/**
 * A store in which an interaction is ingested right after the first history read completes
 * (and, when the watermark is read concurrently with the history, before the watermark read).
 */
class InterleavingStore extends FeatureStoreAdapter {
  write: (() => Promise<unknown>) | undefined;
  private written: Promise<void> | undefined;

  override async userWatermark(userId: string): Promise<string> {
    // A watermark read racing with the history read lands after the write.
    if (this.written) await this.written;
    return super.userWatermark(userId);
  }

  override async recentInteractions(userId: string, limit: number): Promise<Rating[]> {
    const write = this.write;
    if (!write) return super.recentInteractions(userId, limit);
    this.write = undefined;
    let done!: () => void;
    this.written = new Promise((resolve) => (done = resolve));
    try {
      const history = await super.recentInteractions(userId, limit);
      await write();
      return history;
    } finally {
      done();
      this.written = undefined;
    }
  }
}

describe('adapted-state key vs. a write between the watermark and history reads', () => {
  it('never serves a state adapted on the old history under the new watermark', async () => {
    const t = await tempStore();
    await seedWorld(t.store);
    await t.store.registry.registerModel({ modelId: 'm1', algorithm: 'melu', artifactUri: 'm1' });
    await t.store.registry.promote('m1');
    const port = new InterleavingStore(t.store);
    const h = await startHarness(t.store, { m1: () => makeModel(1) }, {}, { port });
    try {
      port.write = () =>
        t.store.ingestInteractions([
          { eventId: 'race', userId: 'u4', itemId: 'i11', value: 2, kind: 'rating', eventTime: new Date() },
        ]);
      const first = await rec(h, allActive('u4', 3));
      expect(first.supportSize).toBe(6); // adapted on the history read before the write
      const second = await rec(h, allActive('u4', 3));
      expect(second.supportSize).toBe(7);
      // The first state was adapted on 6 interactions: it must not answer for the 7.
      expect(second.adaptedFromCache).toBe(false);
      expect((await rec(h, allActive('u4', 3))).adaptedFromCache).toBe(true);
    } finally {
      await h.close();
      t.dispose();
    }
  });
});
