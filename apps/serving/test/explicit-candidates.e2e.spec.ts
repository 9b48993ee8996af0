/**
 * Explicit candidate ids are scored from rows gathered out of the encoded active catalog (not
 * re-encoded per request): the scores must equal those of freshly encoded items (Score encodes
 * its items), and item writes must show on the very next call. Run for MeLU and ANIL models
 * (ANIL also gathers the precomputed first-layer rows).
 */
import * as grpc from '@grpc/grpc-js';
import {
  RecommenderServiceClient,
  toTimestamp,
  type RecommendRequest,
  type RecommendResponse,
  type ScoreResponse,
} from '@warmstart/contracts';
import { ANIL_LOCAL_GROUPS, MELU_LOCAL_GROUPS, type ParamGroup } from '@warmstart/core';
import type { FeatureStore } from '@warmstart/feature-store';
import { call, startHarness, tempStore, type Harness } from './support/harness';
import { makeModel, seedWorld } from './support/world';

const rec = (h: Harness, req: Partial<RecommendRequest>) =>
  call<RecommendRequest, RecommendResponse>(
    h.recommender,
    RecommenderServiceClient.prototype.recommend as never,
    { k: 5, includeSeen: false, ...req } as RecommendRequest,
  );

const ids = (values: string[]): RecommendRequest['candidates'] => ({
  source: { $case: 'itemIds', value: { ids: values } },
});

const upsert = (h: Harness, id: string, status: number) =>
  call(h.featureStore, h.featureStore.upsertItems as never, {
    items: [
      {
        id,
        features: { genres: { kind: { $case: 'multiCategorical', value: { values: ['comedy'] } } } },
        availableAt: toTimestamp(new Date()),
        status,
      },
    ],
  });

describe.each([
  ['melu', MELU_LOCAL_GROUPS],
  ['anil', ANIL_LOCAL_GROUPS],
] as [string, ParamGroup[]][])('explicit candidates from the encoded catalog (%s)', (_name, groups) => {
  let h: Harness;
  let store: FeatureStore;
  let dispose: () => void;

  beforeAll(async () => {
    ({ store, dispose } = await tempStore());
    await seedWorld(store);
    await store.registry.registerModel({ modelId: 'm1', algorithm: _name, artifactUri: 'm1' });
    await store.registry.promote('m1');
    // Writes through the server applied before the very next call (the default batches them
    // within 100 ms; active-catalog-changes.spec.ts covers that).
    h = await startHarness(store, { m1: () => makeModel(1, groups) }, { writeCoalesceMs: 0 });
  });
  afterAll(async () => {
    await h.close();
    dispose();
  });

  it('scores gathered rows exactly like freshly encoded items, in candidate order for ties', async () => {
    const user = { userId: 'u5', features: {}, support: [] };
    const wanted = ['i12', 'i3', 'i35', 'i3', 'i20', 'i1', 'i39'];
    const res = await rec(h, { user, candidates: ids(wanted), k: 10, includeSeen: true });
    const scored = await call<unknown, ScoreResponse>(h.recommender, h.recommender.score as never, {
      user,
      itemIds: wanted,
    });
    const expected = new Map(scored.items.map((i) => [i.itemId, i.score]));
    expect(res.items.map((i) => i.itemId).sort()).toEqual([...new Set(wanted)].sort());
    for (const it of res.items) expect(it.score).toBeCloseTo(expected.get(it.itemId) as number, 5);
  });

  it('scores concurrent users of one micro-batch on a repeated list like Score, and follows item writes', async () => {
    const list = ['i4', 'i9', 'i17', 'i22', 'i31', 'i36', 'i9'];
    const users = [0, 1, 2, 3, 4].map((u) => ({
      userId: '',
      features: {},
      support: [
        { itemId: `i${u}`, value: 1 + u },
        { itemId: `i${u + 10}`, value: 5 - u },
      ],
    }));
    const check = async () => {
      // Sent together: adapted and scored in one batch, the list gathered once and then cached.
      const recs = await Promise.all(
        users.map((user) => rec(h, { user, candidates: ids(list), k: 10, includeSeen: true })),
      );
      for (const [i, user] of users.entries()) {
        const scored = await call<unknown, ScoreResponse>(h.recommender, h.recommender.score as never, {
          user,
          itemIds: list,
        });
        const expected = new Map(scored.items.map((it) => [it.itemId, it.score]));
        const got = recs[i] as RecommendResponse;
        expect(got.items.map((it) => it.itemId).sort()).toEqual([...new Set(list)].sort());
        for (const it of got.items) expect(it.score).toBeCloseTo(expected.get(it.itemId) as number, 5);
      }
      return recs;
    };
    await check();
    // New features for a listed item: the cached gathered list must not be served any more.
    await call(h.featureStore, h.featureStore.upsertItems as never, {
      items: [
        {
          id: 'i17',
          features: {
            genres: { kind: { $case: 'multiCategorical', value: { values: ['horror', 'drama'] } } },
          },
          availableAt: toTimestamp(new Date()),
          status: 1,
        },
      ],
    });
    await check();
  });

  it('excludes seen items from a one-off explicit list unless include_seen is set', async () => {
    const support = [
      { itemId: 'i6', value: 5 },
      { itemId: 'i26', value: 1 },
    ];
    const user = { userId: '', features: {}, support };
    const list = ['i26', 'i5', 'i6', 'i27', 'i8', 'i26'];
    const without = await rec(h, { user, candidates: ids(list), k: 10 });
    expect(without.items.map((i) => i.itemId).sort()).toEqual(['i27', 'i5', 'i8']);
    const withSeen = await rec(h, { user, candidates: ids(list), k: 10, includeSeen: true });
    expect(withSeen.items.map((i) => i.itemId).sort()).toEqual(['i26', 'i27', 'i5', 'i6', 'i8']);
  });

  it('with --write-coalesce-ms 0, includes an upserted item on the very next call and drops it once retired', async () => {
    const user = { userId: '', features: {}, support: [{ itemId: 'i2', value: 5 }] };
    await rec(h, { user, candidates: ids(['i1', 'i2']) }); // the catalog is now loaded and encoded
    await upsert(h, 'explicit-new', 1);
    const added = await rec(h, { user, candidates: ids(['i1', 'explicit-new']), k: 10 });
    expect(added.items.map((i) => i.itemId).sort()).toEqual(['explicit-new', 'i1']);
    await upsert(h, 'explicit-new', 2);
    const retired = await rec(h, { user, candidates: ids(['i1', 'explicit-new']), k: 10 });
    expect(retired.items.map((i) => i.itemId)).toEqual(['i1']);
    const unknown = await rec(h, { user, candidates: ids(['i1', 'nope']) }).catch(
      (e: grpc.ServiceError) => e,
    );
    expect((unknown as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
  });
});
