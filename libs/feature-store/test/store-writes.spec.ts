import { openFeatureStore, ValidationError, type FeatureStore } from '../src';
import { backends, type TestDatabase } from './helpers/backends';

const t0 = new Date('2020-01-01T00:00:00Z');
const at = (days: number) => new Date(t0.getTime() + days * 86_400_000);

describe.each(backends)('writes and online reads on $name', ({ create }) => {
  let db: TestDatabase;
  let store: FeatureStore;

  beforeEach(async () => {
    db = create();
    store = await openFeatureStore(db.url);
    await store.upsertItems([
      { id: 'i1', features: { genres: ['Action', 'Comedy'], year: 1995 }, availableAt: at(0) },
      { id: 'i2', features: { genres: [], year: null }, availableAt: at(10) },
      { id: 'i3', features: { genres: ['Drama'] }, availableAt: at(20), status: 'retired' },
    ]);
    await store.upsertUsers([{ id: 'u1', features: { gender: 'F', age: 31 } }]);
  });

  afterEach(async () => {
    await store.close();
    await db.drop();
  });

  it('round-trips typed features of users and items', async () => {
    const users = await store.getUsers(['u1', 'nobody']);
    expect(users.get('u1')?.features).toEqual({ gender: 'F', age: 31 });
    expect(users.has('nobody')).toBe(false);
    const items = await store.getItems(['i1', 'i2', 'i3']);
    expect(items.get('i1')?.features).toEqual({ genres: ['Action', 'Comedy'], year: 1995 });
    expect(items.get('i2')?.features).toEqual({ genres: [], year: null });
    expect(items.get('i3')?.status).toBe('retired');
    expect(items.get('i2')?.availableAt.toISOString()).toBe(at(10).toISOString());
    // the rows are queryable, not a blob
    const action = await store.prisma.itemFeature.findMany({ where: { field: 'genres', text: 'Action' } });
    expect(action.map((r) => r.itemId)).toEqual(['i1']);
  });

  it('ingests idempotently by event id and reads recent interactions newest first', async () => {
    const rows = [
      { eventId: 'e1', userId: 'u1', itemId: 'i1', value: 4, eventTime: at(1) },
      { eventId: 'e2', userId: 'u1', itemId: 'i2', value: 2, eventTime: at(3) },
      { eventId: 'e3', userId: 'u2', itemId: 'i1', value: 1, kind: 'implicit' as const, eventTime: at(2) },
    ];
    expect(await store.ingestInteractions(rows)).toEqual({ ingested: 3, duplicates: 0 });
    const w1 = await store.userWatermark('u1');
    expect(await store.ingestInteractions(rows)).toEqual({ ingested: 0, duplicates: 3 });
    expect((await store.counts()).interactions).toBe(3);
    expect(await store.userWatermark('u1')).toEqual(w1);
    expect((await store.recentInteractions('u1', 10)).map((r) => r.itemId)).toEqual(['i2', 'i1']);
    expect((await store.recentInteractions('u1', 10, at(2))).map((r) => r.itemId)).toEqual(['i1']);
    // u2 was created on its first interaction
    expect((await store.getUsers(['u2'])).get('u2')?.features).toEqual({});
  });

  it("reads the user watermark on the driver exactly as through Prisma (hotReads), and sees other connections' writes", async () => {
    const viaPrisma = await openFeatureStore(db.url, { hotReads: false, migrate: false });
    try {
      const both = async (id: string) => {
        const [hot, prisma] = [await store.userWatermark(id), await viaPrisma.userWatermark(id)];
        expect(hot).toEqual(prisma);
        return hot;
      };
      const none = await both('u1');
      expect(none).toEqual({ sequence: 0, time: null, count: 0, featuresUpdatedAt: expect.any(Date) });
      // Written through the other store (another connection): the hot read sees it.
      await viaPrisma.ingestInteractions([
        { eventId: 'h1', userId: 'u1', itemId: 'i1', value: 4, eventTime: at(1) },
        { eventId: 'h2', userId: 'u1', itemId: 'i2', value: 5, eventTime: at(2) },
      ]);
      const two = await both('u1');
      expect(two.count).toBe(2);
      expect(two.sequence).toBeGreaterThan(0);
      expect(two.time).toBeInstanceOf(Date);
      expect(await both('nobody')).toEqual({ sequence: 0, time: null, count: 0, featuresUpdatedAt: null });
    } finally {
      await viaPrisma.close();
    }
  });

  it('moves the items watermark on every item write and when an item becomes available', async () => {
    const tick = () => new Promise((r) => setTimeout(r, 5)); // updatedAt has millisecond precision
    const w0 = await store.itemsWatermark(at(5));
    // i2 (available at day 10) and i3 (day 20) are not available yet at day 5.
    expect(w0).toMatchObject({ count: 3, pending: 2 });
    expect(w0.latestUpdate).toBeInstanceOf(Date);
    expect(await store.itemsWatermark(at(5))).toEqual(w0); // reads change nothing
    expect((await store.itemsWatermark(at(15))).pending).toBe(1);
    await tick();
    await store.upsertItems([{ id: 'i1', features: { genres: ['Action'], year: 1995 }, status: 'retired' }]);
    const w1 = await store.itemsWatermark(at(5));
    expect(w1.count).toBe(3);
    expect(w1.latestUpdate!.getTime()).toBeGreaterThan(w0.latestUpdate!.getTime());
    await tick();
    await store.upsertItems([{ id: 'i4', features: { genres: [] }, availableAt: at(1) }]);
    expect(await store.itemsWatermark(at(5))).toMatchObject({ count: 4, pending: 2 });
    await expect(store.itemsWatermark(new Date(Number.NaN))).rejects.toThrow(ValidationError);
  });

  it("moves the user watermark when the user's features are written", async () => {
    const before = await store.userWatermark('u1');
    expect(before.featuresUpdatedAt).toBeInstanceOf(Date);
    await new Promise((r) => setTimeout(r, 5));
    await store.upsertUsers([{ id: 'u1', features: { gender: 'F', age: 32 } }]);
    const after = await store.userWatermark('u1');
    expect(after.featuresUpdatedAt!.getTime()).toBeGreaterThan(before.featuresUpdatedAt!.getTime());
    expect(after.sequence).toBe(before.sequence);
    expect((await store.userWatermark('nobody')).featuresUpdatedAt).toBeNull();
  });

  it('invalidates the cache on writes and moves the user watermark', async () => {
    await store.ingestInteractions([
      { eventId: 'a', userId: 'u1', itemId: 'i1', value: 5, eventTime: at(1) },
    ]);
    expect(await store.recentInteractions('u1', 5)).toHaveLength(1);
    const before = await store.userWatermark('u1');
    await store.ingestInteractions([
      { eventId: 'b', userId: 'u1', itemId: 'i2', value: 3, eventTime: at(2) },
    ]);
    expect((await store.recentInteractions('u1', 5)).map((r) => r.itemId)).toEqual(['i2', 'i1']);
    const after = await store.userWatermark('u1');
    expect(after.sequence).toBeGreaterThan(before.sequence);
    expect(after.count).toBe(2);

    expect((await store.getUsers(['u1'])).get('u1')?.features.age).toBe(31);
    await store.upsertUsers([{ id: 'u1', features: { gender: 'F', age: 32 } }]);
    expect((await store.getUsers(['u1'])).get('u1')?.features.age).toBe(32);
  });

  it('rejects a batch with a bad row, naming row and field, and writes nothing', async () => {
    const bad = [
      { eventId: 'x1', userId: 'u1', itemId: 'i1', value: 4, eventTime: at(1) },
      { eventId: 'x2', userId: 'u1', itemId: 'i1', value: 7, eventTime: at(1) },
    ];
    await expect(store.ingestInteractions(bad)).rejects.toThrow(
      'interactions[1].value: rating 7 is outside 1..5',
    );
    await expect(
      store.ingestInteractions([{ eventId: 'x3', userId: 'u1', itemId: 'nope', value: 4, eventTime: at(1) }]),
    ).rejects.toThrow('interactions[0].itemId: unknown item "nope"');
    await expect(
      store.ingestInteractions([{ eventId: '', userId: 'u1', itemId: 'i1', value: 4, eventTime: at(1) }]),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(
      store.ingestInteractions([
        { eventId: 'y', userId: 'u1', itemId: 'i1', value: 4, eventTime: new Date(NaN) },
      ]),
    ).rejects.toThrow('interactions[0].eventTime');
    await expect(
      store.upsertItems([
        { id: 'ok', features: {} },
        { id: 'bad', features: { year: Infinity } },
      ]),
    ).rejects.toThrow('items[1].features.year');
    expect(await store.counts()).toEqual({ users: 1, items: 3, interactions: 0 });
  });

  it('re-sending an upsert batch changes nothing', async () => {
    const first = (await store.getItems(['i1'])).get('i1');
    store.clear();
    expect(
      await store.upsertItems([
        { id: 'i1', features: { genres: ['Action', 'Comedy'], year: 1995 }, availableAt: at(0) },
      ]),
    ).toBe(0);
    expect((await store.getItems(['i1'])).get('i1')?.updatedAt).toEqual(first?.updatedAt);
    expect(await store.prisma.itemFeature.count({ where: { itemId: 'i1' } })).toBe(3);
  });

  it('pages active items and new items since a time', async () => {
    await store.upsertItems(
      Array.from({ length: 5 }, (_, k) => ({ id: `n${k}`, features: {}, availableAt: at(30 + k) })),
    );
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await store.activeItems({ limit: 2, cursor });
      seen.push(...page.items.map((it) => it.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(['i1', 'i2', 'n0', 'n1', 'n2', 'n3', 'n4']);
    const fresh = await store.newItemsSince(at(10), { limit: 3 });
    expect(fresh.items.map((it) => it.id)).toEqual(['i2', 'n0', 'n1']);
    const rest = await store.newItemsSince(at(10), { limit: 3, cursor: fresh.nextCursor });
    expect(rest.items.map((it) => it.id)).toEqual(['n2', 'n3', 'n4']);
    expect(rest.nextCursor).toBeNull();
    await expect(store.activeItems({ cursor: 'garbage' })).rejects.toThrow('page.cursor');
  });

  it('pages the versions of the items written since a time, of any status, oldest write first', async () => {
    const before = new Date(Date.now() - 1);
    await store.upsertItems([{ id: 'c1', features: { year: 2001 } }]);
    await new Promise((r) => setTimeout(r, 5));
    const mid = new Date();
    await store.upsertItems([
      { id: 'c2', features: {} },
      { id: 'c3', features: {} },
      { id: 'i1', features: { genres: ['Action'] }, status: 'retired' },
    ]);
    const ids = async (since: Date, limit = 100) => {
      const out: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await store.itemVersionsSince(since, { limit, cursor });
        out.push(...page.items.map((it) => it.id));
        cursor = page.nextCursor;
      } while (cursor);
      return out;
    };
    expect(await ids(before)).toEqual(['c1', 'c2', 'c3', 'i1']);
    expect(await ids(before, 1)).toEqual(['c1', 'c2', 'c3', 'i1']);
    expect(await ids(mid)).toEqual(['c2', 'c3', 'i1']);
    const versions = (await store.itemVersionsSince(mid)).items;
    const stored = await store.getItems(['c2', 'i1']);
    expect(versions.find((v) => v.id === 'i1')).toEqual({
      id: 'i1',
      status: 'retired',
      updatedAt: stored.get('i1')!.updatedAt,
    });
    expect(versions.find((v) => v.id === 'c2')?.updatedAt).toEqual(stored.get('c2')!.updatedAt);
    expect(await ids(new Date(Date.now() + 60_000))).toEqual([]);
    await expect(store.itemVersionsSince(new Date(NaN))).rejects.toThrow('since');
    await expect(store.itemVersionsSince(before, { cursor: 'garbage' })).rejects.toThrow('page.cursor');
  });

  it('does not return items before their available time (default: now; or asOf)', async () => {
    const future = new Date('2150-01-01T00:00:00Z');
    await store.upsertItems([
      { id: 'later', features: {}, availableAt: future },
      { id: 'unset', features: {} }, // no availableAt: available from the write time
    ]);
    const ids = async (page: Promise<{ items: { id: string }[] }>) => (await page).items.map((it) => it.id);
    expect(await ids(store.activeItems())).toEqual(['i1', 'i2', 'unset']);
    expect(await ids(store.newItemsSince(at(5)))).toEqual(['i2', 'unset']);
    // as of a past time: only items available then
    expect(await ids(store.activeItems({ asOf: at(5) }))).toEqual(['i1']);
    expect(await ids(store.newItemsSince(at(0), { asOf: at(10) }))).toEqual(['i1', 'i2']);
    // once the available time has come, the item is a candidate
    expect(await ids(store.activeItems({ asOf: future }))).toEqual(['i1', 'i2', 'later', 'unset']);
    expect(await ids(store.newItemsSince(at(5), { asOf: future }))).toEqual(['i2', 'unset', 'later']);
    // a missing availableAt is stored as the write time
    const unset = (await store.getItems(['unset'])).get('unset')!;
    expect(unset.availableAt).toEqual(unset.createdAt);
    const row = await store.prisma.item.findUnique({ where: { id: 'unset' } });
    expect(row?.availableAt).toEqual(unset.createdAt);
    await expect(store.activeItems({ asOf: new Date(NaN) })).rejects.toThrow('page.asOf');
  });
});
