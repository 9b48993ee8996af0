import { FeatureStore, migrate, resolveDatabase } from '../src';
import { createClient } from '../src/db/client';
import type { HotReads } from '../src/db/hot-reads';
import { backends, type TestDatabase } from './helpers/backends';

/** One read the store sent: a SQL statement through Prisma, or a `driver:<read>` on the driver. */
type Sent = { sql: string; params: string };

/**
 * A store that reports every read it sends: each SQL statement through Prisma, and with hot reads
 * (the default) each read on the driver, as `driver:<method>` with its arguments as JSON.
 */
async function countingStore(
  url: string,
  hotReads: boolean,
): Promise<{ store: FeatureStore; queries: Sent[] }> {
  const resolved = resolveDatabase(url);
  await migrate(resolved);
  const client = createClient(resolved, { logQueries: true });
  const queries: Sent[] = [];
  (client as unknown as { $on(e: 'query', cb: (e: { query: string; params: string }) => void): void }).$on(
    'query',
    (e) => queries.push({ sql: e.query, params: e.params }),
  );
  const store = new FeatureStore(client, resolved, { hotReads });
  const hot = (store as unknown as { hot?: HotReads }).hot;
  if (hotReads !== (hot !== undefined)) throw new Error('the store did not take the hotReads option');
  if (hot)
    for (const method of ['userWatermark', 'users', 'items', 'recent'] as const) {
      const read = hot[method].bind(hot) as (...args: unknown[]) => Promise<unknown>;
      (hot as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        queries.push({ sql: `driver:${method}`, params: JSON.stringify(args) });
        return read(...args);
      };
    }
  return { store, queries };
}

const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, k) => `${prefix}${k}`);
const reads = [
  { path: 'on the driver (hotReads, the default)', hotReads: true },
  { path: 'through Prisma (hotReads: false)', hotReads: false },
];
const cases = backends.flatMap((b) => reads.map((r) => ({ ...b, ...r })));

describe.each(cases)('batched reads and the entity cache on $name, $path', ({ create, hotReads }) => {
  let db: TestDatabase;
  let store: FeatureStore;
  let queries: Sent[];

  beforeEach(async () => {
    db = create();
    ({ store, queries } = await countingStore(db.url, hotReads));
    await store.upsertItems(
      ids(200, 'i').map((id, k) => ({ id, features: { genres: ['a', `g${k % 7}`], n: k } })),
    );
    await store.upsertUsers(ids(200, 'u').map((id, k) => ({ id, features: { age: 20 + (k % 50) } })));
    store.clear();
    queries.length = 0;
  });

  afterEach(async () => {
    await store.close();
    await db.drop();
  });

  /** Reads sent while `fn` runs. */
  async function sent<T>(fn: () => Promise<T>): Promise<{ value: T; statements: Sent[] }> {
    queries.length = 0;
    const value = await fn();
    return { value, statements: queries.splice(0) };
  }

  it.each([
    ['getItems', 'i'],
    ['getUsers', 'u'],
  ] as const)(
    '%s sends the same few statements for 1, 50 or 200 ids (one round per batch, not per id)',
    async (method, prefix) => {
      const counts: number[] = [];
      for (const n of [1, 50, 200]) {
        store.clear();
        const { value, statements } = await sent(() => store[method](ids(n, prefix)));
        expect(value.size).toBe(n);
        counts.push(statements.length);
      }
      // the entity rows and their current features: a fixed number of statements
      expect(counts[0]).toBeGreaterThan(0);
      expect(counts[0]).toBeLessThanOrEqual(2);
      expect(counts).toEqual([counts[0], counts[0], counts[0]]);
    },
  );

  it('reads a user watermark from the database every time, in one read', async () => {
    const first = await sent(() => store.userWatermark('u1'));
    expect(first.statements.map((s) => s.sql)).toEqual([
      hotReads ? 'driver:userWatermark' : expect.stringMatching(/^SELECT/),
    ]);
    expect(first.value).toMatchObject({ sequence: 0, count: 0, time: null });
    expect(first.value.featuresUpdatedAt).toBeInstanceOf(Date);
    const again = await sent(() => store.userWatermark('u1'));
    expect(again.statements).toHaveLength(1); // never cached: other processes write too
    expect((await store.userWatermark('nobody')).featuresUpdatedAt).toBeNull();
  });

  it(`sends ${hotReads ? 'no' : 'every'} entity and history read through Prisma`, async () => {
    const { statements } = await sent(async () => {
      await store.getUsers(['u1', 'u2']);
      await store.getItems(['i1']);
      await store.recentInteractions('u1', 5);
    });
    const viaPrisma = statements.filter((s) => !s.sql.startsWith('driver:'));
    if (hotReads) {
      expect(viaPrisma).toEqual([]);
      expect(statements.map((s) => s.sql)).toEqual(['driver:users', 'driver:items', 'driver:recent']);
    } else expect(viaPrisma.length).toBeGreaterThanOrEqual(3);
  });

  it('reads the item watermark without a MAX over every item (ORDER BY updatedAt DESC LIMIT 1)', async () => {
    const { value, statements } = await sent(() => store.itemsWatermark());
    expect(value.count).toBe(200);
    expect(statements.some((s) => /ORDER BY [^,]*updatedAt[`"]? DESC/.test(s.sql))).toBe(true);
    expect(statements.filter((s) => /MAX\(/i.test(s.sql))).toEqual([]);
  });

  it('serves repeated item reads from the cache and queries only the misses', async () => {
    const first = await sent(() => store.getItems(['i1', 'i2']));
    expect(first.statements.length).toBeGreaterThan(0);
    const again = await sent(() => store.getItems(['i1', 'i2']));
    expect(again.statements).toEqual([]);
    expect(again.value).toEqual(first.value);
    // a partial hit: only the missing id is asked for
    const mixed = await sent(() => store.getItems(['i1', 'i3']));
    expect([...mixed.value.keys()].sort()).toEqual(['i1', 'i3']);
    expect(mixed.statements.length).toBeGreaterThan(0);
    for (const s of mixed.statements) {
      expect(s.params).not.toMatch(/"i1"/);
    }
    expect(mixed.statements.some((s) => /"i3"/.test(s.params))).toBe(true);
  });

  it('invalidates exactly the items a write touched', async () => {
    await store.getItems(['i1', 'i2']);
    // changed behind the store's back (another process): the cache still answers
    await store.prisma.item.update({ where: { id: 'i1' }, data: { status: 'retired' } });
    const cached = await sent(() => store.getItems(['i1']));
    expect(cached.statements).toEqual([]);
    expect(cached.value.get('i1')?.status).toBe('active');
    // a write through the store evicts the ids it touched, and only those
    await store.upsertItems([{ id: 'i1', features: { genres: ['b'], n: -1 } }]);
    const fresh = await sent(() => store.getItems(['i1']));
    expect(fresh.statements.length).toBeGreaterThan(0);
    expect(fresh.value.get('i1')).toMatchObject({ status: 'retired', features: { genres: ['b'], n: -1 } });
    const untouched = await sent(() => store.getItems(['i2']));
    expect(untouched.statements).toEqual([]);
    // an id that was absent is not cached as absent: once written it is found
    expect((await store.getItems(['new'])).has('new')).toBe(false);
    await store.upsertItems([{ id: 'new', features: {} }]);
    expect((await store.getItems(['new'])).has('new')).toBe(true);
  });

  it('invalidates users on upsert and serves them from the cache otherwise', async () => {
    await store.getUsers(['u1', 'u2']);
    expect((await sent(() => store.getUsers(['u1', 'u2']))).statements).toEqual([]);
    await store.upsertUsers([{ id: 'u1', features: { age: 99 } }]);
    const after = await sent(() => store.getUsers(['u1', 'u2']));
    expect(after.value.get('u1')?.features.age).toBe(99);
    expect(after.statements.every((s) => !/"u2"/.test(s.params))).toBe(true);
  });

  it("drops a user's cached reads when their watermark moved (another process wrote), not otherwise", async () => {
    const other = await countingStore(db.url, hotReads);
    try {
      await store.userWatermark('u1');
      await store.getUsers(['u1']);
      await store.recentInteractions('u1', 10);
      // Unchanged watermark: the cached reads stand.
      await store.userWatermark('u1');
      expect((await sent(() => store.getUsers(['u1']))).statements).toEqual([]);
      // Another process writes the user: this store's cache is stale until the watermark is read.
      await other.store.upsertUsers([{ id: 'u1', features: { age: 77 } }]);
      await other.store.ingestInteractions([
        { eventId: 'e1', userId: 'u1', itemId: 'i3', value: 1, eventTime: new Date('2020-01-01') },
      ]);
      expect((await store.getUsers(['u1'])).get('u1')?.features.age).not.toBe(77);
      await store.userWatermark('u1');
      const fresh = await sent(() => store.getUsers(['u1']));
      expect(fresh.statements.length).toBeGreaterThan(0);
      expect(fresh.value.get('u1')?.features.age).toBe(77);
      expect((await store.recentInteractions('u1', 10)).map((r) => r.itemId)).toEqual(['i3']);
    } finally {
      await other.store.close();
    }
  });
});

describe.each(backends)('reads on the driver and through Prisma on $name', ({ create }) => {
  let db: TestDatabase;
  let hot: FeatureStore;
  let prisma: FeatureStore;

  beforeAll(async () => {
    db = create();
    ({ store: hot } = await countingStore(db.url, true));
    ({ store: prisma } = await countingStore(db.url, false));
    await hot.upsertItems([
      { id: 'a', features: { genres: ['x', 'y', 'z'], year: 1990, title: 'A', empty: [], gone: null } },
      { id: 'b', features: {}, status: 'retired' },
      { id: 'c', features: { genres: ['y'] }, availableAt: new Date('2199-01-01T00:00:00Z') },
    ]);
    await hot.upsertItems([{ id: 'a', features: { genres: ['z', 'x'], year: 1991 } }]); // a second version
    await hot.upsertUsers([
      { id: 'u', features: { age: 31, tags: ['p', 'q'], note: 'é "quoted"' } },
      { id: 'bare', features: {} },
    ]);
    const t = new Date('2020-01-01T00:00:00Z');
    await hot.ingestInteractions([
      { eventId: 'e1', userId: 'u', itemId: 'a', value: 4, eventTime: t },
      { eventId: 'e2', userId: 'u', itemId: 'b', value: 2.5, eventTime: t }, // same time: newest sequence first
      { eventId: 'e3', userId: 'u', itemId: 'c', value: 1, eventTime: new Date('2019-06-01T12:34:56.789Z') },
    ]);
  });

  afterAll(async () => {
    await hot.close();
    await prisma.close();
    await db.drop();
  });

  it('return the same users, items and histories', async () => {
    for (const s of [hot, prisma]) s.clear();
    const ids = ['u', 'bare', 'nobody', 'u'];
    const users = await hot.getUsers(ids);
    expect(users).toEqual(await prisma.getUsers(ids));
    expect(users.get('u')?.features).toEqual({ age: 31, tags: ['p', 'q'], note: 'é "quoted"' });
    expect(users.get('bare')?.features).toEqual({});
    expect(users.has('nobody')).toBe(false);

    const items = await hot.getItems(['a', 'b', 'c', 'missing']);
    expect(items).toEqual(await prisma.getItems(['a', 'b', 'c', 'missing']));
    expect(items.get('a')?.features).toEqual({ genres: ['z', 'x'], year: 1991 });
    expect(items.get('b')?.status).toBe('retired');
    expect(items.get('c')?.availableAt.toISOString()).toBe('2199-01-01T00:00:00.000Z');

    const recent = await hot.recentInteractions('u', 10);
    expect(recent).toEqual(await prisma.recentInteractions('u', 10));
    expect(recent.map((r) => [r.itemId, r.value])).toEqual([
      ['b', 2.5],
      ['a', 4],
      ['c', 1],
    ]);
    expect(recent[2]?.time?.toISOString()).toBe('2019-06-01T12:34:56.789Z');
    expect(await hot.recentInteractions('u', 1)).toEqual(await prisma.recentInteractions('u', 1));
    expect(await hot.recentInteractions('nobody', 3)).toEqual([]);
  });
});
