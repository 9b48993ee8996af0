import { openFeatureStore, ValidationError, type FeatureStore } from '../src';
import { backends, type TestDatabase } from './helpers/backends';

const day = (d: number) => new Date(Date.UTC(2020, 0, 1 + d));

describe.each(backends)('point-in-time snapshots on $name', ({ create }) => {
  let db: TestDatabase;
  let store: FeatureStore;
  beforeEach(async () => {
    db = create();
    store = await openFeatureStore(db.url);
    await store.upsertItems(
      Array.from({ length: 30 }, (_, i) => ({ id: `i${i}`, features: { g: `${i % 3}` } })),
    );
    await store.upsertUsers(
      Array.from({ length: 7 }, (_, u) => ({ id: `u${u}`, features: { age: 20 + u } })),
    );
    const rows = [];
    for (let u = 0; u < 7; u++) {
      for (let i = 0; i < 10 + 3 * u; i++) {
        rows.push({
          eventId: `e${u}-${i}`,
          userId: `u${u}`,
          itemId: `i${i}`,
          value: 1 + ((u + i) % 5),
          eventTime: day(i),
        });
      }
    }
    await store.ingestInteractions(rows);
  });
  afterEach(async () => {
    await store.close();
    await db.drop();
  });

  it('streams per-user interactions at the watermark, page by page', async () => {
    const snap = store.snapshot(day(11), { pageSize: 2 });
    const seen: [string, number][] = [];
    for await (const { user, ratings } of snap.interactionsByUser()) {
      seen.push([user.id, ratings.length]);
      expect(ratings.every((r) => r.time!.getTime() <= day(11).getTime())).toBe(true);
      expect(ratings.map((r) => r.time!.getTime())).toEqual(
        [...ratings.map((r) => r.time!.getTime())].sort((a, b) => a - b),
      );
    }
    expect(seen).toEqual([
      ['u0', 10],
      ['u1', 12],
      ['u2', 12],
      ['u3', 12],
      ['u4', 12],
      ['u5', 12],
      ['u6', 12],
    ]);
  });

  it('ignores interactions ingested after the snapshot was taken', async () => {
    const snap = store.snapshot(day(100));
    await new Promise((r) => setTimeout(r, 5));
    await store.ingestInteractions([
      { eventId: 'late', userId: 'u0', itemId: 'i29', value: 5, eventTime: day(1) },
    ]);
    let total = 0;
    for await (const { ratings } of snap.interactionsByUser()) total += ratings.length;
    expect(total).toBe(10 + 13 + 16 + 19 + 22 + 25 + 28);
  });

  it('leaves out users and items that did not exist yet at the watermark', async () => {
    // stored now (after the 2020 watermarks) without interactions: not in historical snapshots
    await store.upsertUsers([{ id: 'newcomer', features: { age: 50 } }]);
    // first interaction on day 50
    await store.ingestInteractions([
      { eventId: 'late-user', userId: 'u7', itemId: 'i0', value: 3, eventTime: day(50) },
    ]);
    await store.upsertItems([
      { id: 'old', features: {}, availableAt: day(1) },
      { id: 'released-later', features: {}, availableAt: day(200) },
    ]);
    const ids = async (it: AsyncIterable<{ id: string }>) => {
      const out: string[] = [];
      for await (const x of it) out.push(x.id);
      return out;
    };
    const early = store.snapshot(day(11), { pageSize: 4 });
    expect(await ids(early.users())).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
    // items i0..i11 were rated by day 11; the others were stored now and first rated later
    expect((await ids(early.items())).sort()).toEqual(
      [...Array.from({ length: 12 }, (_, i) => `i${i}`), 'old'].sort(),
    );
    const mid = store.snapshot(day(100));
    expect(await ids(mid.users())).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7']);
    // i28 and i29 (stored now) are never rated; released-later is not out yet
    expect((await ids(mid.items())).sort()).toEqual(
      [...Array.from({ length: 28 }, (_, i) => `i${i}`), 'old'].sort(),
    );
    // at or after their creation / availability they are in
    const now = store.snapshot(new Date());
    expect(await ids(now.users())).toContain('newcomer');
    expect(await ids(store.snapshot(day(200)).items())).toContain('released-later');
  });

  it('validates the page size, naming the option', () => {
    for (const pageSize of [0, -1, 1.5, NaN]) {
      let caught: unknown;
      try {
        store.snapshot(day(1), { pageSize });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ValidationError);
      expect((caught as ValidationError).field).toBe('pageSize');
    }
  });

  it('returns features as they were at the watermark', async () => {
    const before = new Date();
    await new Promise((r) => setTimeout(r, 5));
    await store.upsertUsers([{ id: 'u0', features: { age: 99 } }]);
    const old: Record<string, unknown> = {};
    for await (const u of store.snapshot(before).users()) old[u.id] = u.features.age;
    expect(old.u0).toBe(20);
    const now: Record<string, unknown> = {};
    for await (const u of store.snapshot().users()) now[u.id] = u.features.age;
    expect(now.u0).toBe(99);
  });

  it('samples seeded tasks following the protocol (min 13, query 10, filters)', async () => {
    const collect = async (seed: number, filter?: (r: { itemId: string }) => boolean) => {
      const out = [];
      for await (const t of store.snapshot(day(100), { pageSize: 3 }).tasks({ seed, maxRatings: 20, filter }))
        out.push(t);
      return out;
    };
    const tasks = await collect(1);
    // u0 (10) and u1 (13) ... u1 has exactly 13 -> kept; u0 dropped
    expect(tasks.map((t) => t.user.id)).toEqual(['u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
    for (const t of tasks) {
      expect(t.query).toHaveLength(10);
      expect(t.support.length + t.query.length).toBe(Math.min(20, 10 + 3 * Number(t.user.id.slice(1))));
      const ids = [...t.support, ...t.query].map((r) => r.itemId);
      expect(new Set(ids).size).toBe(ids.length);
    }
    expect(await collect(1)).toEqual(tasks);
    expect((await collect(2)).map((t) => t.query.map((r) => r.itemId))).not.toEqual(
      tasks.map((t) => t.query.map((r) => r.itemId)),
    );
    const even = await collect(1, (r) => Number(r.itemId.slice(1)) % 2 === 0);
    expect(
      even.every((t) => [...t.support, ...t.query].every((r) => Number(r.itemId.slice(1)) % 2 === 0)),
    ).toBe(true);
    expect(even.map((t) => t.user.id)).toEqual(['u5', 'u6']);
  });
});
