/**
 * Uncached Recommend scores its candidates inside the adaptation micro-batch (ServingModel.scoreMany
 * over core's scoreBatch), and explicit candidate lists gathered from the active catalog are cached
 * per catalog encoding. Batched scores must equal per-user scores, and the gathered-list cache must
 * follow item writes and never free encodings a request still holds.
 */
import { ANIL_LOCAL_GROUPS, MELU_LOCAL_GROUPS, initBackend, type ParamGroup } from '@warmstart/core';
import { CoreServingModel } from '../src/adapters/core-runtime';
import { ModelSlot, type Adaptation } from '../src/slots/model-slot';
import type { AdaptedUser, EncodedItemSet } from '../src/ports/model-runtime.port';
import type { PageQuery, PageResult, StorePort, StoredItem } from '../src/ports/store.port';
import { ActiveCatalog } from '../src/recommend/active-catalog';
import { ITEMS, USERS, makeModel } from './support/world';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const ref = { modelId: 'm', version: 1 };
const catalogItems = new Map(ITEMS.map((i) => [i.id, { ...i, status: 'active' as const }]));
const support = (offset: number) =>
  [0, 1, 2, 3].map((j) => ({ itemId: `i${(offset + j * 7) % ITEMS.length}`, value: 1 + ((offset + j) % 5) }));

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs((a[i] as number) - (b[i] as number))).toBeLessThan(1e-5);
}

describe.each([
  ['melu', MELU_LOCAL_GROUPS],
  ['anil', ANIL_LOCAL_GROUPS],
] as [string, ParamGroup[]][])('batched scoring (%s)', (_name, groups) => {
  let model: CoreServingModel;
  let items: EncodedItemSet;
  let other: EncodedItemSet;

  beforeAll(() => {
    model = new CoreServingModel(makeModel(1, groups), ref, {});
    items = model.encodeItems([...catalogItems.values()]);
    other = model.encodeItems([...catalogItems.values()].slice(5, 17));
  });
  afterAll(() => {
    items.dispose();
    other.dispose();
    model.dispose();
  });

  it('scoreMany equals score() per user, across adaptation batches and for identical users', () => {
    const first = model.adapt(
      [
        { user: USERS[0]!, support: support(0) },
        { user: { id: '', features: {} }, support: support(3) },
        { user: { id: '', features: {} }, support: support(8) },
      ],
      catalogItems,
    );
    const second = model.adapt(
      [
        { user: USERS[1]!, support: support(5) },
        { user: USERS[0]!, support: [] },
      ],
      catalogItems,
    );
    const users: AdaptedUser[] = [second[1]!, first[2]!, first[0]!, second[0]!, first[1]!, first[2]!];
    try {
      const batched = model.scoreMany(users, items);
      expect(batched).toHaveLength(users.length);
      users.forEach((u, i) => expectClose(batched[i]!, u.score(items)));
      expect(model.scoreMany([], items)).toEqual([]);
    } finally {
      for (const u of [...first, ...second]) u.dispose();
    }
  });

  it('a micro-batch adapts every job and scores the candidate sets several jobs share', async () => {
    const slot = new ModelSlot(model, { maxBatchSize: 8, maxWaitMs: 1000, maxQueue: 100 });
    const jobs = [
      { input: { user: USERS[2]!, support: support(1) }, items: catalogItems, candidates: [items] },
      {
        input: { user: { id: '', features: {} }, support: support(2) },
        items: catalogItems,
        candidates: [items, other],
      },
      { input: { user: USERS[3]!, support: support(4) }, items: catalogItems },
      { input: { user: { id: '', features: {} }, support: support(6) }, items: catalogItems, candidates: [] },
    ];
    const batches: number[] = [];
    const out: Adaptation[] = await Promise.all(jobs.map((j) => slot.batcher.submit(j)));
    try {
      batches.push(...out.map((o) => o.scores.length));
      expect(batches).toEqual([1, 2, 0, 0]);
      // `items` is wanted by two jobs: scored in the batch; `other` by one: left to its caller.
      expectClose(out[0]!.scores[0]!, out[0]!.state.value.score(items));
      expectClose(out[1]!.scores[0]!, out[1]!.state.value.score(items));
      expect(out[1]!.scores[1]).toBeUndefined();
    } finally {
      for (const o of out) o.state.release();
    }
    await slot.batcher.close();
  });
});

/** A store serving the active items page by page (only what ActiveCatalog reads). */
function itemStore(list: () => StoredItem[]): StorePort {
  return {
    itemsWatermark: async () => 'w',
    forgetItems: () => undefined,
    activeItems: async (page: PageQuery): Promise<PageResult<StoredItem>> => {
      const all = list();
      const from = page.cursor ? Number(page.cursor) : 0;
      const to = from + page.pageSize;
      return to < all.length
        ? { items: all.slice(from, to), nextCursor: String(to) }
        : { items: all.slice(from) };
    },
  } as unknown as StorePort;
}

describe('ActiveCatalog gathered candidate lists', () => {
  let model: CoreServingModel;
  beforeAll(() => {
    model = new CoreServingModel(makeModel(2, ANIL_LOCAL_GROUPS), ref, {});
  });
  afterAll(() => model.dispose());

  it('keeps a list from its second request on, in request order, unique, and only for catalog items', async () => {
    const selectItems = jest.spyOn(model, 'selectItems');
    const catalog = new ActiveCatalog(
      itemStore(() => [...catalogItems.values()]),
      { selectionRows: 1000 },
    );
    const lease = await catalog.lease(model);
    const list = ['i7', 'i3', 'i7', 'i30'];
    expect(lease.selection(list)).toBeUndefined(); // a one-off list: the request gathers it itself
    const a = lease.selection([...list]);
    const b = lease.selection([...list]);
    expect(b?.value).toBe(a?.value);
    expect(selectItems).toHaveBeenCalledTimes(1);
    expect(a?.value.encoded.ids).toEqual(['i7', 'i3', 'i30']);
    expect(a?.value.rowOf('i30')).toBe(2);
    lease.selection(['i7', 'i3']);
    expect(lease.selection(['i7', 'i3'])?.value).not.toBe(a?.value); // another list
    lease.selection(['i7', 'unknown']);
    expect(lease.selection(['i7', 'unknown'])).toBeUndefined(); // resolved through the store instead
    a?.release();
    b?.release();
    expect(a?.disposed).toBe(false); // still held by the cache
    lease.release();
    catalog.invalidate();
    expect(a?.disposed).toBe(true);
    selectItems.mockRestore();
  });

  it('locates explicit candidates: unique ids in order, their rows, the ids it lacks (duplicates too)', async () => {
    const catalog = new ActiveCatalog(itemStore(() => [...catalogItems.values()]));
    const lease = await catalog.lease(model);
    const ids = ['i7', 'x', 'i3', 'i7', 'x', 'y', 'i3', 'i0'];
    for (let round = 0; round < 3; round++) {
      const { unique, found, missing } = lease.locate(ids);
      expect(unique).toEqual(['i7', 'x', 'i3', 'y', 'i0']);
      expect(missing).toEqual(['x', 'y']);
      expect(found.map((at) => at && at.page.items[at.row]?.id)).toEqual([
        'i7',
        undefined,
        'i3',
        undefined,
        'i0',
      ]);
      found.forEach((at, i) => expect(at).toBe(lease.find(unique[i] as string)));
    }
    lease.release();
  });

  it("takes a decoded list's byte key as its fingerprint, still comparing the ids on a hit", async () => {
    const catalog = new ActiveCatalog(
      itemStore(() => [...catalogItems.values()]),
      { selectionRows: 1000 },
    );
    const lease = await catalog.lease(model);
    expect(lease.selection(['i1', 'i2', 'i3'], 'bytes:k1')).toBeUndefined(); // first time
    const kept = lease.selection(['i1', 'i2', 'i3'], 'bytes:k1');
    expect(kept?.value.encoded.ids).toEqual(['i1', 'i2', 'i3']);
    // Another list under the same key (a hash collision) is not served the kept one.
    const other = lease.selection(['i4', 'i5'], 'bytes:k1');
    expect(other?.value).not.toBe(kept?.value);
    expect(other?.value.encoded.ids).toEqual(['i4', 'i5']);
    kept?.release();
    other?.release();
    lease.release();
  });

  it('drops gathered lists on invalidation, freeing them only after their holders release', async () => {
    let items = [...catalogItems.values()];
    const catalog = new ActiveCatalog(
      itemStore(() => items),
      { selectionRows: 1000 },
    );
    const lease = await catalog.lease(model);
    lease.selection(['i1', 'i2']);
    const held = lease.selection(['i1', 'i2']); // kept (second request)
    expect(held).toBeDefined();
    lease.release();
    // An UpsertItems retires i2: the next lease re-reads the catalog and gathers afresh.
    items = items.filter((i) => i.id !== 'i2');
    catalog.invalidate();
    expect(held?.disposed).toBe(false);
    expect(Array.from(held!.value.encoded.ids)).toEqual(['i1', 'i2']);
    const next = await catalog.lease(model);
    next.selection(['i1', 'i2']);
    expect(next.selection(['i1', 'i2'])).toBeUndefined(); // i2 is retired
    next.selection(['i1']);
    const fresh = next.selection(['i1']);
    expect(fresh?.value).not.toBe(held?.value);
    held?.release();
    expect(held?.disposed).toBe(true);
    fresh?.release();
    next.release();
    catalog.invalidate();
  });

  it('does not keep lists beyond its row bound (0 = off)', async () => {
    for (const rows of [0, 2]) {
      const catalog = new ActiveCatalog(
        itemStore(() => [...catalogItems.values()]),
        { selectionRows: rows },
      );
      const lease = await catalog.lease(model);
      for (let i = 0; i < 3; i++) expect(lease.selection(['i1', 'i2', 'i3'])).toBeUndefined();
      lease.release();
      catalog.invalidate();
    }
  });
});
