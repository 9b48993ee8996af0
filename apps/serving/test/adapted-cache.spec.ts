import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@warmstart/core';
import { CoreServingModel } from '../src/adapters/core-runtime';
import { AdaptedCache } from '../src/cache/adapted-cache';
import { Shared } from '../src/cache/shared';
import type { AdaptedUser } from '../src/ports/model-runtime.port';
import { ITEMS, USERS, makeModel } from './support/world';

function user(log: string[], name: string): Shared<AdaptedUser> {
  const value: AdaptedUser = {
    score: () => new Float32Array(),
    rank: () => new Float32Array(),
    bytes: 1,
    detach: () => value,
    dispose: () => log.push(name),
  };
  return new Shared<AdaptedUser>(value);
}

const m1 = { modelId: 'm', version: 1 };
const m2 = { modelId: 'm', version: 2 };

describe('AdaptedCache', () => {
  it('keys by model version, user and watermark and counts hits and misses', () => {
    const cache = new AdaptedCache(10);
    const log: string[] = [];
    const a = user(log, 'a');
    cache.set({ model: m1, userId: 'u', watermark: '1' }, a);
    expect(cache.get({ model: m1, userId: 'u', watermark: '1' })?.value).toBe(a.value);
    expect(cache.get({ model: m1, userId: 'u', watermark: '2' })).toBeUndefined();
    expect(cache.get({ model: m2, userId: 'u', watermark: '1' })).toBeUndefined();
    expect([cache.hits, cache.misses]).toEqual([1, 2]);
  });

  it('evicts least recently used entries and disposes them only after the last holder releases', () => {
    const cache = new AdaptedCache(2);
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => user(log, n)) as [
      Shared<AdaptedUser>,
      Shared<AdaptedUser>,
      Shared<AdaptedUser>,
    ];
    for (const [n, s] of [
      ['a', a],
      ['b', b],
    ] as const) {
      cache.set({ model: m1, userId: n, watermark: '0' }, s);
      s.release(); // the creator's reference
    }
    const held = cache.get({ model: m1, userId: 'a', watermark: '0' }); // a is now most recent, and held
    cache.set({ model: m1, userId: 'c', watermark: '0' }, c);
    expect(log).toEqual(['b']);
    cache.set({ model: m1, userId: 'd', watermark: '0' }, user(log, 'd'));
    expect(log).toEqual(['b']); // a evicted but still held by a request
    held?.release();
    expect(log).toEqual(['b', 'a']);
  });

  it('invalidates one user and drops entries of replaced models', () => {
    const cache = new AdaptedCache(10);
    const log: string[] = [];
    cache.set({ model: m1, userId: 'u', watermark: '1' }, user(log, 'u1'));
    cache.set({ model: m1, userId: 'v', watermark: '1' }, user(log, 'v1'));
    cache.set({ model: m2, userId: 'v', watermark: '1' }, user(log, 'v2'));
    cache.invalidateUser('u');
    expect(cache.get({ model: m1, userId: 'u', watermark: '1' })).toBeUndefined();
    cache.retainOnly(m2);
    expect(cache.get({ model: m1, userId: 'v', watermark: '1' })).toBeUndefined();
    expect(cache.get({ model: m2, userId: 'v', watermark: '1' })).toBeDefined();
    expect(cache.size).toBe(1);
  });

  it('stores nothing when disabled', () => {
    const cache = new AdaptedCache(0);
    cache.set({ model: m1, userId: 'u', watermark: '1' }, user([], 'u'));
    expect(cache.get({ model: m1, userId: 'u', watermark: '1' })).toBeUndefined();
    expect(cache.enabled).toBe(false);
  });
});

describe('AdaptedCache byte bound (real adapted tensors)', () => {
  let model: CoreServingModel;
  beforeAll(async () => {
    await initBackend({ prefer: 'cpu' });
    model = new CoreServingModel(makeModel(1), m1, {});
  });
  afterAll(() => model.dispose());

  const inputs = USERS.slice(0, 4).map((u, i) => ({
    user: u,
    support: [{ itemId: `i${i}`, value: 3 + (i % 2) }],
  }));
  const items = new Map(ITEMS.map((i) => [i.id, i]));

  it('keeps each entry as its own slice, holds the byte bound and frees evicted entries', () => {
    const baseline = tf.memory().numTensors;
    const batch = model.adapt(inputs, items);
    const perUser = batch[0]!.bytes;
    const encoded = model.encodeItems(ITEMS);
    const expected = batch.map((u) => u.score(encoded));
    const cache = new AdaptedCache(100, Math.floor(perUser * 2.5));
    batch.forEach((u, i) => {
      const shared = new Shared(u);
      cache.set({ model: m1, userId: `u${i}`, watermark: '0' }, shared);
      shared.release(); // the request is done with it
    });
    // The whole batch (4 users) is freed: the cache holds its own one-row copies of the last 2.
    expect(cache.size).toBe(2);
    expect(cache.bytes).toBeLessThanOrEqual(Math.floor(perUser * 2.5));
    expect(cache.bytes).toBe(2 * perUser);
    const tensorsPerUser = (tf.memory().numTensors - baseline - 1) / 2; // 1 = the encoded items
    expect(Number.isInteger(tensorsPerUser) && tensorsPerUser > 0).toBe(true);
    for (const i of [2, 3]) {
      const held = cache.get({ model: m1, userId: `u${i}`, watermark: '0' });
      const got = held!.value.score(encoded);
      expected[i]!.forEach((v, j) => expect(Math.abs(v - got[j]!)).toBeLessThan(1e-5));
      held!.release();
    }
    expect(cache.get({ model: m1, userId: 'u0', watermark: '0' })).toBeUndefined();
    cache.clear();
    encoded.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('does not keep an entry larger than the whole bound', () => {
    const baseline = tf.memory().numTensors;
    const [user] = model.adapt(inputs.slice(0, 1), items);
    const cache = new AdaptedCache(100, user!.bytes - 1);
    const shared = new Shared(user!);
    cache.set({ model: m1, userId: 'u0', watermark: '0' }, shared);
    expect(cache.size).toBe(0);
    expect(shared.disposed).toBe(false); // the caller's reference is untouched
    shared.release();
    expect(tf.memory().numTensors).toBe(baseline);
  });
});
