/**
 * The active catalog applies item changes incrementally (recommend/active-catalog.ts): an upsert
 * through this server re-encodes only the page it lands on, a retirement only the page it leaves,
 * another replica's writes are found by the watermark and applied the same way, warmed rows
 * re-encode only the pages holding the warmed items, and a replaced page's encoding is freed only
 * after the last lease holding it ends. A fake store and a fake model count what is read and
 * encoded.
 */
import type { EncodedItemSet, ServingModel } from '../src/ports/model-runtime.port';
import type { PageQuery, PageResult, StorePort, StoredItem } from '../src/ports/store.port';
import { ActiveCatalog } from '../src/recommend/active-catalog';
import { PAGE_SIZE } from '../src/recommend/catalog-pages';

/** Items in a map with write times; the reads the catalog makes, as the feature store answers them. */
class FakeStore {
  readonly items = new Map<string, StoredItem>();
  private clock = 1_000_000;
  private listing: StoredItem[] | undefined;
  reads: string[] = [];

  write(id: string, status: 'active' | 'retired' = 'active', availableAt?: Date): void {
    this.clock += 10_000; // writes 10 s apart: a change read's 5 s overlap reaches one write back
    this.items.set(id, {
      id,
      features: {},
      status,
      updatedAt: new Date(this.clock),
      ...(availableAt && { availableAt }),
    });
  }

  private page<T>(list: T[], page: PageQuery): PageResult<T> {
    const from = page.cursor ? Number(page.cursor) : 0;
    const to = from + page.pageSize;
    return to < list.length
      ? { items: list.slice(from, to), nextCursor: String(to) }
      : { items: list.slice(from) };
  }

  readonly port = {
    itemsWatermark: async () => {
      const all = [...this.items.values()];
      const latest = all.reduce((t, i) => Math.max(t, i.updatedAt!.getTime()), 0);
      const pending = all.filter((i) => i.availableAt && i.availableAt > new Date()).length;
      return `${this.items.size}.${latest}.${pending}`;
    },
    forgetItems: () => undefined,
    activeItems: async (page: PageQuery) => {
      if (!page.cursor) this.reads.push('all');
      // One sorted listing per read of the whole catalog (its pages are asked for one by one).
      if (!page.cursor || !this.listing) {
        const now = new Date();
        this.listing = [...this.items.values()]
          .filter((i) => i.status === 'active' && !(i.availableAt && i.availableAt > now))
          .sort((a, b) => (a.id < b.id ? -1 : 1));
      }
      return this.page(this.listing, page);
    },
    itemVersionsSince: async (since: Date, page: PageQuery) => {
      const list = [...this.items.values()]
        .filter((i) => i.updatedAt! >= since)
        .sort((a, b) => a.updatedAt!.getTime() - b.updatedAt!.getTime() || (a.id < b.id ? -1 : 1))
        .map((i) => ({ id: i.id, updatedAt: i.updatedAt!, status: i.status }));
      if (!page.cursor) this.reads.push(`versions ${list.length}`);
      return this.page(list as unknown as StoredItem[], page);
    },
    getItems: async (ids: readonly string[]) => {
      this.reads.push(`get ${ids.length}`);
      return new Map(ids.flatMap((id) => (this.items.has(id) ? [[id, this.items.get(id)!] as const] : [])));
    },
    newItemsSince: async (since: Date, page: PageQuery) => {
      const now = new Date();
      const list = [...this.items.values()].filter(
        (i) => i.status === 'active' && i.availableAt && i.availableAt >= since && i.availableAt <= now,
      );
      return this.page(list, page);
    },
  } as unknown as StorePort;
}

/** Encodings as id lists, each counted and its disposal recorded. */
class FakeModel {
  constructor(readonly ref = { modelId: 'm', version: 1 }) {}
  warmVersion = 0;
  warmed: Map<number, string[]> = new Map();
  encodes: string[][] = [];
  disposed: string[][] = [];

  encodeItems(items: StoredItem[]): EncodedItemSet {
    const ids = items.map((i) => i.id);
    this.encodes.push(ids);
    return { ids, dispose: () => this.disposed.push(ids) } as unknown as EncodedItemSet;
  }

  warmedSince(version: number): ReadonlySet<string> | undefined {
    const ids = new Set<string>();
    for (let v = version + 1; v <= this.warmVersion; v++) {
      const list = this.warmed.get(v);
      if (!list) return undefined;
      for (const id of list) ids.add(id);
    }
    return ids;
  }
}

const N = PAGE_SIZE * 2 + 500;
const id = (k: number) => `i${String(k).padStart(5, '0')}`;

function setUp(freshnessMs = 60_000, writeCoalesceMs = 0) {
  const store = new FakeStore();
  for (let k = 0; k < N; k++) store.write(id(k));
  const model = new FakeModel();
  const catalog = new ActiveCatalog(store.port, { freshnessMs, writeCoalesceMs });
  const lease = () => catalog.lease(model as unknown as ServingModel);
  return { store, model, catalog, lease };
}

const pageIds = (lease: Awaited<ReturnType<ActiveCatalog['lease']>>) => lease.pages.map((p) => p.encoded.ids);

describe('ActiveCatalog changes', () => {
  it('reads a catalog of 300k items (more than a call can take as spread arguments)', async () => {
    const store = new FakeStore();
    for (let k = 0; k < 300_000; k++) store.write(`big-${k}`);
    const model = new FakeModel();
    const lease = await new ActiveCatalog(store.port, { freshnessMs: 60_000 }).lease(
      model as unknown as ServingModel,
    );
    expect(lease.pages).toHaveLength(300_000 / PAGE_SIZE);
    expect(lease.find('big-299999')).toBeDefined();
    lease.release();
  });

  it('finds items where each lease holds them after the catalog changed', async () => {
    const { store, catalog, lease } = setUp();
    const before = await lease();
    const gone = id(3);
    const tail = id(2 * PAGE_SIZE + 7);
    store.write(gone, 'retired');
    store.write('new-item');
    catalog.itemsWritten();
    const after = await lease();
    // The old lease: its own (since replaced) pages, rows as they were.
    expect(before.find(gone)).toMatchObject({ page: before.pages[0], row: 3 });
    expect(before.find(tail)).toMatchObject({ page: before.pages[2], row: 7 });
    expect(before.find('new-item')).toBeUndefined();
    // The new lease: the retired item gone, the rest shifted up, the new item on the tail page.
    expect(after.find(gone)).toBeUndefined();
    expect(after.find(id(4))).toMatchObject({ page: after.pages[0], row: 3 });
    expect(after.find('new-item')).toMatchObject({ page: after.pages[2], row: 500 });
    // A page neither change touched is found on each lease's own page entry.
    expect(before.find(id(PAGE_SIZE + 1))).toMatchObject({ page: before.pages[1], row: 1 });
    expect(after.find(id(PAGE_SIZE + 1))).toMatchObject({ page: after.pages[1], row: 1 });
    for (const l of [before, after])
      for (const [k, page] of l.pages.entries())
        page.items.forEach((item, row) => {
          if (row % 97 === 0) expect(l.find(item.id)).toMatchObject({ page: l.pages[k], row });
        });
    before.release();
    after.release();
  });

  it('reads and encodes the whole catalog once', async () => {
    const { store, model, lease } = setUp();
    const first = await lease();
    expect(model.encodes.map((e) => e.length)).toEqual([PAGE_SIZE, PAGE_SIZE, 500]);
    (await lease()).release();
    expect(model.encodes).toHaveLength(3);
    expect(store.reads).toEqual(['all']);
    first.release();
  });

  it('an upsert through this server re-encodes only the page the item lands on', async () => {
    const { store, model, catalog, lease } = setUp();
    const before = await lease();
    model.encodes = [];
    store.write('new-item');
    catalog.itemsWritten();
    const after = await lease();
    expect(model.encodes).toEqual([[...pageIds(before)[2]!, 'new-item']]);
    expect(after.find('new-item')?.page.items[after.find('new-item')!.row]?.id).toBe('new-item');
    // Untouched pages keep their encodings; the replaced one is freed when its last lease ends.
    expect(after.pages[0]!.encoded).toBe(before.pages[0]!.encoded);
    expect(model.disposed).toEqual([]);
    before.release();
    expect(model.disposed).toEqual([pageIds(before)[2]]);
    after.release();
    expect(store.reads.filter((r) => r === 'all')).toHaveLength(1);
  });

  describe('with a fake clock', () => {
    // Date.now() is the catalog's clock; only it is faked (the fake store's promises still run).
    beforeEach(() =>
      jest.useFakeTimers({ now: 5_000_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] }),
    );
    afterEach(() => jest.useRealTimers());

    it('applies writes through this server at most every writeCoalesceMs, several in one application, in the background', async () => {
      const { store, model, catalog, lease } = setUp(60_000, 100);
      (await lease()).release(); // the first read: the last check is now
      model.encodes = [];
      store.write('new-a');
      catalog.itemsWritten();
      const early = await lease(); // 0 ms after the check: the write waits for the next one
      expect(early.find('new-a')).toBeUndefined();
      early.release();
      store.write('new-b');
      catalog.itemsWritten();
      jest.setSystemTime(Date.now() + 99);
      const stillEarly = await lease();
      expect(stillEarly.find('new-b')).toBeUndefined();
      stillEarly.release();
      jest.setSystemTime(Date.now() + 1);
      // 100 ms after the check: this lease starts the application in the background and is
      // served the catalog as it was; the next lease after it sees both writes.
      const during = await lease();
      expect(during.find('new-a')).toBeUndefined();
      during.release();
      await catalog.settled();
      const later = await lease();
      expect(later.find('new-a')).toBeDefined();
      expect(later.find('new-b')).toBeDefined();
      // Both writes in one application: the tail page encoded once, with both items.
      expect(model.encodes).toEqual([[...pageIds(later)[2]!]]);
      expect(model.encodes[0]!.slice(-2)).toEqual(['new-a', 'new-b']);
      later.release();
      // Nothing written since: the next lease checks nothing until freshnessMs has passed.
      const reads = store.reads.length;
      jest.setSystemTime(Date.now() + 1000);
      (await lease()).release();
      expect(store.reads).toHaveLength(reads);
    });

    it("finds another writer's change in the background: the lease that starts the check does not wait for it", async () => {
      const { store, catalog, lease } = setUp(1000);
      (await lease()).release();
      store.write('elsewhere'); // not through this server: only the watermark tells
      jest.setSystemTime(Date.now() + 1000);
      const during = await lease();
      expect(during.find('elsewhere')).toBeUndefined();
      during.release();
      await catalog.settled();
      const after = await lease();
      expect(after.find('elsewhere')).toBeDefined();
      after.release();
    });
  });

  it('a retirement re-encodes only the page the item leaves', async () => {
    const { store, model, catalog, lease } = setUp();
    (await lease()).release();
    model.encodes = [];
    store.write(id(PAGE_SIZE + 7), 'retired');
    catalog.itemsWritten();
    const after = await lease();
    expect(model.encodes.map((e) => e.length)).toEqual([PAGE_SIZE - 1]);
    expect(after.find(id(PAGE_SIZE + 7))).toBeUndefined();
    expect(catalog.size).toBe(N - 1);
    after.release();
  });

  it('another replica finds writes by the watermark and applies only them', async () => {
    const { store, model, catalog, lease } = setUp(0);
    (await lease()).release();
    model.encodes = [];
    store.reads = [];
    // Written elsewhere: this catalog was not told.
    store.write('elsewhere');
    store.write(id(3), 'retired');
    const after = await lease();
    expect(after.find('elsewhere')).toBeDefined();
    expect(after.find(id(3))).toBeUndefined();
    expect(model.encodes.map((e) => e.length)).toEqual([PAGE_SIZE - 1, 501]);
    // The versions of the two writes, plus the newest write seen before (re-read by the overlap,
    // unchanged), then only the two items themselves.
    expect(store.reads).toEqual(['versions 3', 'get 2']);
    after.release();
    // Nothing new: the watermark check alone, no read, no encoding.
    model.encodes = [];
    store.reads = [];
    (await lease()).release();
    expect(store.reads).toEqual([]);
    expect(model.encodes).toEqual([]);
    expect(catalog.size).toBe(N);
    // One more write: the overlap re-reads the retired item's version too, but not the item.
    store.write('third');
    (await lease()).release();
    expect(store.reads).toEqual(['versions 2', 'get 1']);
  });

  it('an item becoming available joins at its time, without a write', async () => {
    const { store, model, lease } = setUp(0);
    store.write('later', 'active', new Date(Date.now() + 150));
    const first = await lease();
    expect(first.find('later')).toBeUndefined();
    first.release();
    await new Promise((r) => setTimeout(r, 200));
    model.encodes = [];
    const after = await lease();
    expect(after.find('later')).toBeDefined();
    expect(model.encodes).toHaveLength(1);
    after.release();
  });

  it('prepares an incoming version beside the serving one; retainOnly frees the old one', async () => {
    const { store, model, catalog, lease } = setUp();
    (await lease()).release();
    const next = new FakeModel({ modelId: 'm', version: 2 });
    expect(await catalog.prepare(next as unknown as ServingModel)).toEqual({ items: N, pages: 3 });
    expect(next.encodes).toHaveLength(3);
    model.encodes = [];
    (await lease()).release(); // the serving version keeps its own encoding meanwhile
    expect(model.encodes).toEqual([]);
    catalog.retainOnly(next.ref);
    expect(model.disposed).toHaveLength(3);
    expect(next.disposed).toEqual([]);
    expect(store.reads.filter((r) => r === 'all')).toHaveLength(1);
  });

  it('warmed rows re-encode only the pages holding the warmed items (all when unknown)', async () => {
    const { model, lease } = setUp();
    (await lease()).release();
    model.encodes = [];
    model.warmVersion = 1;
    model.warmed.set(1, [id(PAGE_SIZE + 1)]);
    (await lease()).release();
    expect(model.encodes.map((e) => e[0])).toEqual([id(PAGE_SIZE)]);
    model.encodes = [];
    model.warmVersion = 3; // version 2 is not known: every page
    (await lease()).release();
    expect(model.encodes).toHaveLength(3);
  });
});
