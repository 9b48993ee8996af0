import { FeatureStore, migrate, resolveDatabase } from '../src';
import { createClient } from '../src/db/client';
import { backends, type TestDatabase } from './helpers/backends';

/** A store whose client reports every SQL statement it sends. */
async function countingStore(
  url: string,
): Promise<{ store: FeatureStore; queries: { sql: string; params: string }[] }> {
  const resolved = resolveDatabase(url);
  await migrate(resolved);
  const client = createClient(resolved, { logQueries: true });
  const queries: { sql: string; params: string }[] = [];
  (client as unknown as { $on(e: 'query', cb: (e: { query: string; params: string }) => void): void }).$on(
    'query',
    (e) => queries.push({ sql: e.query, params: e.params }),
  );
  return { store: new FeatureStore(client, resolved), queries };
}

const ids = (n: number, prefix: string) => Array.from({ length: n }, (_, k) => `${prefix}${k}`);

describe.each(backends)('batched reads and the entity cache on $name', ({ create }) => {
  let db: TestDatabase;
  let store: FeatureStore;
  let queries: { sql: string; params: string }[];

  beforeEach(async () => {
    db = create();
    ({ store, queries } = await countingStore(db.url));
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

  /** Statements sent while `fn` runs. */
  async function sent<T>(
    fn: () => Promise<T>,
  ): Promise<{ value: T; statements: { sql: string; params: string }[] }> {
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

  it('reads a user watermark on the driver, never through Prisma (hotReads, the default)', async () => {
    const first = await sent(() => store.userWatermark('u1'));
    expect(first.statements).toEqual([]);
    expect(first.value).toMatchObject({ sequence: 0, count: 0, time: null });
    expect(first.value.featuresUpdatedAt).toBeInstanceOf(Date);
  });

  it('without hot reads, reads a user watermark in one Prisma statement, from the database every time', async () => {
    const viaPrisma = new FeatureStore(store.prisma, resolveDatabase(db.url), { hotReads: false });
    const first = await sent(() => viaPrisma.userWatermark('u1'));
    expect(first.statements).toHaveLength(1);
    expect(first.value).toMatchObject({ sequence: 0, count: 0, time: null });
    expect(first.value.featuresUpdatedAt).toBeInstanceOf(Date);
    const again = await sent(() => viaPrisma.userWatermark('u1'));
    expect(again.statements).toHaveLength(1); // never cached: other processes write too
    expect((await viaPrisma.userWatermark('nobody')).featuresUpdatedAt).toBeNull();
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
    const other = await countingStore(db.url);
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
