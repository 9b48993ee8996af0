import { FeatureStore, migrate, resolveDatabase, ValidationError, type InteractionInput } from '../src';
import { createClient } from '../src/db/client';
import { backends, type TestDatabase } from './helpers/backends';

const t0 = new Date('2020-01-01T00:00:00Z');
const at = (days: number) => new Date(t0.getTime() + days * 86_400_000);

/** A store whose client reports every SQL statement it sends (as in online-cache.spec.ts). */
async function countingStore(url: string): Promise<{ store: FeatureStore; queries: string[] }> {
  const resolved = resolveDatabase(url);
  await migrate(resolved);
  const client = createClient(resolved, { logQueries: true });
  const queries: string[] = [];
  (client as unknown as { $on(e: 'query', cb: (e: { query: string }) => void): void }).$on('query', (e) =>
    queries.push(e.query),
  );
  return { store: new FeatureStore(client, resolved), queries };
}

let n = 0;
/** An interaction row with a fresh event id. */
const rating = (userId: string, itemId: string, value: number, eventTime: Date): InteractionInput => ({
  eventId: `e${n++}`,
  userId,
  itemId,
  value,
  eventTime,
});

describe.each(backends)('interactionSequence and itemInteractions (item warm-up) on $name', ({ create }) => {
  let db: TestDatabase;
  let store: FeatureStore;
  let queries: string[];

  beforeEach(async () => {
    db = create();
    ({ store, queries } = await countingStore(db.url));
    await store.upsertItems(['i1', 'i2', 'i3', 'i4'].map((id) => ({ id, features: {}, availableAt: at(0) })));
  });

  afterEach(async () => {
    await store.close();
    await db.drop();
  });

  it('interactionSequence is 0 when empty, grows on ingest and ignores duplicate event ids', async () => {
    expect(await store.interactionSequence()).toBe(0);
    const rows = [rating('u1', 'i1', 4, at(1)), rating('u2', 'i2', 3, at(2))];
    await store.ingestInteractions(rows);
    const s1 = await store.interactionSequence();
    expect(s1).toBeGreaterThan(0);
    const max = await store.prisma.interaction.aggregate({ _max: { seq: true } });
    expect(s1).toBe(max._max.seq);
    // a duplicate ingest stores nothing and leaves the sequence alone
    expect(await store.ingestInteractions(rows)).toEqual({ ingested: 0, duplicates: 2 });
    expect(await store.interactionSequence()).toBe(s1);
    // it is read from the database every time (no stale cached value)
    await store.ingestInteractions([rating('u3', 'i3', 5, at(0.5))]);
    expect(await store.interactionSequence()).toBeGreaterThan(s1);
  });

  it('interactionSequence is one primary-key lookup, not a MAX over a subquery that scans the table', async () => {
    queries.length = 0;
    await store.interactionSequence();
    expect(queries).toHaveLength(1);
    expect(queries[0]).toMatch(/ORDER BY [^,]*seq[`"]? DESC/);
    expect(queries[0]).not.toMatch(/MAX\(/i);
  });

  it('returns each item’s perItem most recent interactions, newest first, seq breaking ties', async () => {
    // ingested out of event-time order; u3 and u4 share an event time (u4 ingested later)
    await store.ingestInteractions([
      rating('u1', 'i1', 1, at(3)),
      rating('u2', 'i1', 2, at(1)),
      rating('u3', 'i1', 3, at(5)),
      rating('u4', 'i1', 4, at(5)),
      rating('u5', 'i1', 5, at(2)),
      rating('u1', 'i2', 2, at(4)),
    ]);
    const all = await store.itemInteractions(['i1', 'i2'], { perItem: 10 });
    expect([...all.keys()]).toEqual(['i1', 'i2']);
    const i1 = all.get('i1')!;
    expect(i1.map((r) => r.userId)).toEqual(['u4', 'u3', 'u1', 'u5', 'u2']);
    expect(i1.map((r) => r.time.toISOString())).toEqual([5, 5, 3, 2, 1].map((d) => at(d).toISOString()));
    expect(i1.map((r) => r.value)).toEqual([4, 3, 1, 5, 2]);
    expect(i1[0].sequence).toBeGreaterThan(i1[1].sequence);
    expect(new Set(i1.map((r) => r.sequence)).size).toBe(5);
    expect(Object.keys(i1[0]).sort()).toEqual(['sequence', 'time', 'userId', 'value']);
    expect(all.get('i2')).toEqual([{ userId: 'u1', value: 2, time: at(4), sequence: expect.any(Number) }]);

    const top2 = await store.itemInteractions(['i1', 'i2'], { perItem: 2 });
    expect(top2.get('i1')).toEqual(i1.slice(0, 2));
    expect(top2.get('i2')).toEqual(all.get('i2'));
    // the highest sequence seen through itemInteractions is the store's sequence
    const seen = [...all.values()].flat().map((r) => r.sequence);
    expect(Math.max(...seen)).toBe(await store.interactionSequence());
  });

  it('afterSequence selects the items with newer interactions and returns their full recent lists', async () => {
    await store.ingestInteractions([
      rating('u1', 'i1', 4, at(1)),
      rating('u2', 'i1', 5, at(2)),
      rating('u1', 'i2', 3, at(3)),
    ]);
    const s1 = await store.interactionSequence();
    // i2 gets something new (with an event time older than its first one); i1 gets nothing
    await store.ingestInteractions([rating('u3', 'i2', 1, at(0.5))]);
    const s2 = await store.interactionSequence();

    const fresh = await store.itemInteractions(['i1', 'i2', 'i3'], { perItem: 10, afterSequence: s1 });
    expect([...fresh.keys()]).toEqual(['i2']);
    // both of i2's interactions, not only the one after s1
    expect(fresh.get('i2')!.map((r) => [r.userId, r.value])).toEqual([
      ['u1', 3],
      ['u3', 1],
    ]);
    expect(
      fresh
        .get('i2')!
        .map((r) => r.sequence)
        .sort((a, b) => a - b),
    ).toEqual([s1, s2]);

    expect((await store.itemInteractions(['i1', 'i2'], { perItem: 10, afterSequence: s2 })).size).toBe(0);
    // default afterSequence 0: every item with any interaction
    const any = await store.itemInteractions(['i1', 'i2'], { perItem: 10 });
    expect([...any.keys()]).toEqual(['i1', 'i2']);
    expect(any).toEqual(await store.itemInteractions(['i1', 'i2'], { perItem: 10, afterSequence: 0 }));
    expect(any.get('i1')!.map((r) => r.userId)).toEqual(['u2', 'u1']);
    // a sequence beyond any stored one (and beyond a 32-bit integer) selects nothing
    expect((await store.itemInteractions(['i1', 'i2'], { perItem: 10, afterSequence: 2 ** 40 })).size).toBe(
      0,
    );
  });

  it('leaves out unknown ids and items without interactions; repeated ids appear once', async () => {
    await store.ingestInteractions([rating('u1', 'i2', 4, at(1))]);
    const out = await store.itemInteractions(['nope', 'i3', 'i2', 'i4', 'i2'], { perItem: 5 });
    expect([...out.keys()]).toEqual(['i2']);
    expect(out.get('i2')).toHaveLength(1);
    expect(await store.itemInteractions(['nope', 'i1'], { perItem: 5 })).toEqual(new Map());
  });

  it('sends no query for no ids, one grouped query per 500 ids, then one per qualifying item', async () => {
    queries.length = 0;
    expect(await store.itemInteractions([], { perItem: 3 })).toEqual(new Map());
    expect(queries).toEqual([]);

    await store.ingestInteractions([rating('u1', 'i2', 4, at(1)), rating('u1', 'i4', 4, at(2))]);
    // 10,000 ids (the maximum): 20 chunks; the real items sit in the last chunk and in the first
    const ids = Array.from({ length: 10_000 }, (_, k) => `missing${k}`);
    ids[9_999] = 'i2';
    ids[3] = 'i4';
    queries.length = 0;
    const out = await store.itemInteractions(ids, { perItem: 3 });
    expect([...out.keys()]).toEqual(['i4', 'i2']);
    expect(queries).toHaveLength(20 + 2);
  });

  it('rejects bad arguments with a ValidationError naming the field', async () => {
    const field = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(ValidationError);
      return (e as ValidationError).field;
    };
    const ok = { perItem: 5 };
    expect(await field(store.itemInteractions(['i1', ''], ok))).toBe('itemIds[1]');
    expect(await field(store.itemInteractions(['x'.repeat(129)], ok))).toBe('itemIds[0]');
    expect(await field(store.itemInteractions([42 as unknown as string], ok))).toBe('itemIds[0]');
    const tooMany = Array.from({ length: 10_001 }, (_, k) => `i${k}`);
    expect(await field(store.itemInteractions(tooMany, ok))).toBe('itemIds');
    expect(await field(store.itemInteractions('i1' as unknown as string[], ok))).toBe('itemIds');
    for (const perItem of [0, 1001, 1.5, Number.NaN, -1, undefined, '5']) {
      const options = { perItem } as unknown as { perItem: number };
      expect(await field(store.itemInteractions(['i1'], options))).toBe('options.perItem');
    }
    expect(await field(store.itemInteractions(['i1'], undefined as unknown as { perItem: number }))).toBe(
      'options.perItem',
    );
    for (const afterSequence of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '3']) {
      const options = { perItem: 5, afterSequence } as unknown as { perItem: number };
      expect(await field(store.itemInteractions(['i1'], options))).toBe('options.afterSequence');
    }
    // options are checked even when there is nothing to read
    expect(await field(store.itemInteractions([], { perItem: 0 }))).toBe('options.perItem');
    // the bounds themselves are accepted
    await expect(store.itemInteractions(['i1'], { perItem: 1 })).resolves.toEqual(new Map());
    await expect(store.itemInteractions(['i1'], { perItem: 1000, afterSequence: 0 })).resolves.toEqual(
      new Map(),
    );
  });
});
