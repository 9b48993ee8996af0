import { AdaptedCache } from '../src/cache/adapted-cache';
import { Shared } from '../src/cache/shared';
import type { AdaptedUser } from '../src/ports/model-runtime.port';

function user(log: string[], name: string): Shared<AdaptedUser> {
  const value: AdaptedUser = {
    score: () => new Float32Array(),
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
