/**
 * ItemWarmer against a counting fake store and model: what it reads and when (one sequence
 * check per interval, interactions only when the sequence moved, only items that got something
 * new, all of them for an item the catalog gained late), clamped labels, failures reported without losing rows, and warm-ups never run twice at
 * once for a model.
 */
import type { EvidenceHistories, ItemWarmUp, ServingModel } from '../src/ports/model-runtime.port';
import type { ItemInteraction, StorePort, StoredItem } from '../src/ports/store.port';
import { ItemWarmer } from '../src/recommend/item-warmer';

const item = (id: string): StoredItem => ({ id, features: {}, status: 'active' });
const CATALOG = [[item('known'), item('n1'), item('n2')]];

/** Interactions as the store holds them: item -> list (newest first), with a global sequence. */
class FakeStore {
  sequence = 0;
  readonly byItem = new Map<string, ItemInteraction[]>();
  calls: string[] = [];
  failNext = false;

  add(itemId: string, userId: string, value: number): void {
    const list = this.byItem.get(itemId) ?? [];
    list.unshift({ userId, value, sequence: ++this.sequence });
    this.byItem.set(itemId, list);
  }

  async interactionSequence(): Promise<number> {
    this.calls.push('sequence');
    if (this.failNext) {
      this.failNext = false;
      throw new Error('database is locked');
    }
    return this.sequence;
  }

  async itemInteractions(ids: readonly string[], o: { perItem: number; afterSequence?: number }) {
    this.calls.push(`interactions ${[...ids].sort().join(',')} after ${o.afterSequence ?? 0}`);
    const out = new Map<string, ItemInteraction[]>();
    for (const id of ids) {
      const list = this.byItem.get(id) ?? [];
      if (list.some((r) => r.sequence > (o.afterSequence ?? 0))) out.set(id, list.slice(0, o.perItem));
    }
    return out;
  }

  async getUsers(ids: readonly string[]) {
    this.calls.push(`users ${ids.length}`);
    return new Map(ids.map((id) => [id, { id, features: {} }]));
  }

  /** A user's history: the items it interacted with, newest first, `limit` at most. */
  async recentInteractions(userId: string, limit: number) {
    this.calls.push(`history ${userId} ${limit}`);
    const items = [...this.byItem]
      .filter(([, list]) => list.some((r) => r.userId === userId))
      .map(([id]) => id);
    return [...items, 'known'].slice(0, limit).map((itemId) => ({ itemId, value: 1 }));
  }

  async getItems(ids: readonly string[]) {
    this.calls.push(`items ${[...ids].sort().join(',')}`);
    return new Map(ids.map((id) => [id, item(id)]));
  }
}

class FakeModel {
  readonly warmsItems = true;
  foldsItems = false;
  readonly histories: (EvidenceHistories | undefined)[] = [];
  readonly task = 'rating' as const;
  readonly ratingRange = [1, 5] as const;
  warmVersion = 0;
  readonly batches: ItemWarmUp[][] = [];
  release: (() => void) | undefined;

  isKnownItem(id: string): boolean {
    return id === 'known';
  }

  async warmUpItems(requests: readonly ItemWarmUp[], histories?: EvidenceHistories): Promise<number> {
    this.batches.push([...requests]);
    this.histories.push(histories);
    if (this.release) await new Promise<void>((r) => (this.release = r));
    this.warmVersion++;
    return requests.length;
  }
}

function setUp(options: { freshnessMs?: number; perItem?: number; historyLimit?: number } = {}) {
  const store = new FakeStore();
  const model = new FakeModel();
  const errors: unknown[] = [];
  const warmer = new ItemWarmer(store as unknown as StorePort, {
    freshnessMs: options.freshnessMs ?? 60_000,
    perItem: options.perItem ?? 50,
    historyLimit: options.historyLimit,
    onError: (e) => errors.push(e),
  });
  const refresh = () => warmer.refresh(model as unknown as ServingModel, CATALOG) ?? Promise.resolve();
  return { store, model, warmer, errors, refresh };
}

describe('ItemWarmer', () => {
  it('reads interactions only when the sequence moved, and only for new items that got some', async () => {
    const { store, model, warmer, refresh } = setUp();
    store.add('n1', 'u1', 4);
    store.add('known', 'u2', 5);
    await refresh();
    expect(store.calls).toEqual(['sequence', 'interactions n1,n2 after 0', 'users 1']);
    expect(model.batches.map((b) => b.map((r) => r.item.id))).toEqual([['n1']]);

    // Within the interval: nothing is read at all.
    store.calls = [];
    await refresh();
    expect(store.calls).toEqual([]);

    // An ingest through this server: the next refresh checks at once; only n2 got something new.
    store.add('n2', 'u3', 2);
    warmer.ingested();
    await refresh();
    expect(store.calls).toEqual(['sequence', 'interactions n1,n2 after 2', 'users 1']);
    expect(model.batches[1]?.map((r) => r.item.id)).toEqual(['n2']);

    // An ingest that touched no item (same sequence): one cheap check, no interaction read.
    store.calls = [];
    warmer.ingested();
    await refresh();
    expect(store.calls).toEqual(['sequence']);
  });

  it('warms an item the catalog gains after its interactions were counted on all of them', async () => {
    // The catalog applies item writes in batches: an item can be rated (and the sequence counted)
    // before the catalog holds it.
    const { store, model, warmer } = setUp({ freshnessMs: 0 });
    const before = [[item('known'), item('n1')]];
    store.add('n1', 'u1', 4);
    store.add('late', 'u2', 5);
    warmer.ingested();
    await warmer.refresh(model as unknown as ServingModel, before);
    expect(model.batches.map((b) => b.map((r) => r.item.id))).toEqual([['n1']]);
    // The sequence did not move since, but the catalog now holds `late`: read from the start.
    store.calls = [];
    await warmer.refresh(model as unknown as ServingModel, [[...before[0]!, item('late')]]);
    expect(store.calls).toEqual(['sequence', 'interactions late after 0', 'users 1']);
    expect(model.batches[1]?.map((r) => [r.item.id, r.interactions.length])).toEqual([['late', 1]]);
  });

  it('checks again after the interval (writes by other replicas)', async () => {
    const { store, model, refresh } = setUp({ freshnessMs: 0 });
    await refresh();
    expect(model.batches).toHaveLength(0);
    store.add('n2', 'u1', 5);
    await refresh();
    expect(model.batches.map((b) => b.map((r) => r.item.id))).toEqual([['n2']]);
  });

  it('warms on the most recent perItem interactions with labels clamped to the rating range', async () => {
    const { store, model, refresh } = setUp({ perItem: 2 });
    store.add('n1', 'u1', 9);
    store.add('n1', 'u2', -3);
    store.add('n1', 'u3', 4);
    await refresh();
    const [request] = model.batches[0] ?? [];
    expect(request?.interactions.map((r) => [r.user.id, r.value])).toEqual([
      ['u3', 4],
      ['u2', 1],
    ]);
  });

  it('reports a failed check and tries again on the next due refresh', async () => {
    const { store, model, warmer, errors, refresh } = setUp();
    store.add('n1', 'u1', 4);
    store.failNext = true;
    await refresh();
    expect(errors).toHaveLength(1);
    expect(model.batches).toHaveLength(0);
    warmer.ingested();
    await refresh();
    expect(model.batches).toHaveLength(1);
  });

  it('runs one warm-up at a time per model; requests do not wait for it', async () => {
    const { store, model, warmer } = setUp();
    store.add('n1', 'u1', 4);
    model.release = () => undefined; // hold the warm-up until released
    const first = warmer.refresh(model as unknown as ServingModel, CATALOG);
    expect(first).toBeDefined();
    await new Promise((r) => setTimeout(r, 10));
    warmer.ingested();
    // Still running: the same run is returned, no second one starts.
    expect(warmer.refresh(model as unknown as ServingModel, CATALOG)).toBe(first);
    expect(model.batches).toHaveLength(1);
    model.release?.();
    model.release = undefined;
    await first;
    // The ingest that arrived meanwhile is checked on the next refresh.
    store.calls = [];
    await warmer.refresh(model as unknown as ServingModel, CATALOG);
    expect(store.calls).toEqual(['sequence']);
  });

  it('reads no histories for a model that warms items up', async () => {
    const { store, model, refresh } = setUp();
    store.add('n1', 'u1', 4);
    await refresh();
    expect(model.histories).toEqual([undefined]);
    expect(store.calls.filter((c) => c.startsWith('history') || c.startsWith('items'))).toEqual([]);
  });

  it('hands a model that folds items in each evidence user’s recent history and its items', async () => {
    const { store, model, refresh } = setUp({ historyLimit: 2 });
    model.foldsItems = true;
    store.add('n1', 'u1', 1);
    store.add('n2', 'u1', 1);
    store.add('n2', 'u2', 1);
    await refresh();
    expect(store.calls).toContain('history u1 2');
    expect(store.calls).toContain('history u2 2');
    const [histories] = model.histories;
    expect([...histories!.histories.keys()].sort()).toEqual(['u1', 'u2']);
    expect(histories!.histories.get('u1')!.map((r) => r.itemId)).toEqual(['n1', 'n2']);
    expect(histories!.histories.get('u2')!.map((r) => r.itemId)).toEqual(['n2', 'known']);
    expect([...histories!.items.keys()].sort()).toEqual(['known', 'n1', 'n2']);
  });

  it('does nothing when off (perItem 0) or for a model without ID embeddings', async () => {
    const off = setUp({ perItem: 0 });
    expect(off.warmer.refresh(off.model as unknown as ServingModel, CATALOG)).toBeUndefined();
    const plain = setUp();
    const model = Object.assign(new FakeModel(), { warmsItems: false });
    expect(plain.warmer.refresh(model as unknown as ServingModel, CATALOG)).toBeUndefined();
    expect([...off.store.calls, ...plain.store.calls]).toEqual([]);
  });
});
