import type { EvidenceHistories, ServingModel } from '../ports/model-runtime.port';
import type { ItemInteraction, StorePort, StoredItem, StoredUser } from '../ports/store.port';
import type { Rating } from '../ports/types';

/** Default of {@link ItemWarmerOptions.perItem}. */
export const DEFAULT_WARMUP_INTERACTIONS = 50;

export interface ItemWarmerOptions {
  /** Most recent interactions per new item that its warm-up reads; 0 turns warm-up off. */
  perItem?: number;
  /** How often, at most, the store is asked whether anything was ingested (ms; 0 = every lease). */
  freshnessMs?: number;
  /**
   * Recent interactions per evidence user that a model which folds new items in adapts the user
   * on (the server's support limit); default {@link DEFAULT_WARMUP_INTERACTIONS}.
   */
  historyLimit?: number;
  /** Told about a failed check or warm-up (the catalog keeps the rows it has). */
  onError?: (err: unknown) => void;
  /** Told after each warm-up: items warmed, how long it took, and whether they were folded in. */
  onWarm?: (items: number, ms: number, way: 'warm-up' | 'fold-in') => void;
}

/** What the warmer knows of one model: the interaction sequence its rows are as new as. */
interface ModelState {
  sequence: number;
  /**
   * The new items the catalog held at the last warm-up: their rows are as new as `sequence`. An
   * item the catalog gains later (a write applied after its first interactions were counted)
   * is warmed on all of its interactions, not only those after `sequence`.
   */
  items: Set<string>;
  checkedAt: number;
  /** The local-ingest count at the last check (a local ingest makes the next lease check). */
  ingests: number;
  running?: Promise<void>;
}

/**
 * Warms new items up between retrains: items of the active catalog the serving model has no ID
 * row for start from the generator's embedding (content only) and, as interactions on them
 * arrive, take core's warm-up steps on their most recent interactions (see core's warmUpItems).
 *
 * Checked in the background, at most every `freshnessMs`, by one query (the store's highest
 * interaction sequence); only a changed sequence reads interactions, and only the new items that
 * got one since the last look are warmed again (the catalog is re-encoded once rows changed). A
 * new item that reaches the catalog after its first interactions were counted (the catalog
 * applies item writes in batches) is warmed on all of them at the next check. An
 * interaction ingested through this server starts a check on the next request instead of after
 * the interval; writes by other replicas or imports are seen within about `freshnessMs`. A
 * model loaded later (a promotion) starts from sequence 0: every new item with interactions is
 * warmed for it. Requests never wait for a warm-up.
 */
export class ItemWarmer {
  private readonly states = new WeakMap<ServingModel, ModelState>();
  private ingests = 0;
  private readonly perItem: number;
  private readonly freshnessMs: number;
  private readonly historyLimit: number;

  constructor(
    private readonly store: StorePort,
    private readonly options: ItemWarmerOptions = {},
  ) {
    this.perItem = options.perItem ?? DEFAULT_WARMUP_INTERACTIONS;
    this.freshnessMs = options.freshnessMs ?? 1000;
    this.historyLimit = options.historyLimit ?? DEFAULT_WARMUP_INTERACTIONS;
  }

  get enabled(): boolean {
    return this.perItem > 0;
  }

  /** Interactions were ingested through this server: the next refresh checks at once. */
  ingested(): void {
    this.ingests += 1;
  }

  /**
   * Starts bringing `model`'s warmed rows up to date with the store for the new items among
   * `items` (the active catalog) when a check is due: `freshnessMs` after the last one, or at
   * once after an ingest through this server. It runs in the background (one at a time per
   * model): requests never wait for a warm-up, they use the rows there are (a warm-up of many
   * items, e.g. every new item after a promotion, takes a while). Failures go to `onError`.
   * Returns the running warm-up, for tests and shutdown.
   */
  refresh(model: ServingModel, items: readonly (readonly StoredItem[])[]): Promise<void> | undefined {
    if (!this.enabled || !model.warmsItems) return undefined;
    let state = this.states.get(model);
    if (!state) {
      state = { sequence: 0, items: new Set(), checkedAt: -Infinity, ingests: this.ingests };
      this.states.set(model, state);
    }
    if (state.running) return state.running;
    const now = Date.now();
    if (state.ingests === this.ingests && now - state.checkedAt < this.freshnessMs) return undefined;
    state.checkedAt = now;
    state.ingests = this.ingests;
    const s = state;
    s.running = this.warm(model, s, items)
      .catch((err) => this.options.onError?.(err))
      .finally(() => (s.running = undefined));
    return s.running;
  }

  private async warm(
    model: ServingModel,
    state: ModelState,
    pages: readonly (readonly StoredItem[])[],
  ): Promise<void> {
    // Read first: interactions read after it are at least this new, so none is missed.
    const sequence = await this.store.interactionSequence();
    const fresh = new Map<string, StoredItem>();
    for (const page of pages)
      for (const item of page) if (!model.isKnownItem(item.id)) fresh.set(item.id, item);
    // Items new to the catalog since the last warm-up (e.g. upserted, then rated before the write
    // reached the catalog) are read from the start; the others only past the last sequence.
    const joined = [...fresh.keys()].filter((id) => !state.items.has(id));
    const kept = [...fresh.keys()].filter((id) => state.items.has(id));
    if (sequence === state.sequence && joined.length === 0) return;
    const started = performance.now();
    const found = new Map<string, ItemInteraction[]>();
    const read = async (ids: string[], afterSequence: number) => {
      if (ids.length === 0) return;
      const got = await this.store.itemInteractions(ids, { perItem: this.perItem, afterSequence });
      for (const [id, list] of got) found.set(id, list);
    };
    await read(joined, 0);
    if (sequence !== state.sequence) await read(kept, state.sequence);
    if (found.size > 0) {
      const users = await this.usersOf(found);
      const label = labelFor(model);
      const requests = [...found].map(([itemId, list]) => ({
        item: fresh.get(itemId) as StoredItem,
        // A user deleted meanwhile is skipped (interactions are deleted with their user).
        interactions: list.flatMap((r) => {
          const user = users.get(r.userId);
          return user ? [{ user, value: label(r.value) }] : [];
        }),
      }));
      const histories = model.foldsItems ? await this.historiesOf(users) : undefined;
      const warmed = await model.warmUpItems(requests, histories);
      this.options.onWarm?.(warmed, performance.now() - started, histories ? 'fold-in' : 'warm-up');
    }
    state.sequence = sequence;
    state.items = new Set(fresh.keys());
  }

  /**
   * The evidence users' recent interactions (a model that folds items in adapts them on these)
   * and the records of the items in them, read in chunks.
   */
  private async historiesOf(users: ReadonlyMap<string, StoredUser>): Promise<EvidenceHistories> {
    const histories = new Map<string, Rating[]>();
    for (const id of users.keys())
      histories.set(id, await this.store.recentInteractions(id, this.historyLimit));
    const ids = new Set<string>();
    for (const list of histories.values()) for (const r of list) ids.add(r.itemId);
    const all = [...ids];
    const items = new Map<string, StoredItem>();
    for (let at = 0; at < all.length; at += IDS_PER_READ)
      for (const [id, item] of await this.store.getItems(all.slice(at, at + IDS_PER_READ)))
        items.set(id, item);
    return { histories, items };
  }

  /** The users behind the interactions, read in chunks (the store bounds ids per read). */
  private async usersOf(
    found: ReadonlyMap<string, readonly ItemInteraction[]>,
  ): Promise<Map<string, StoredUser>> {
    const ids = new Set<string>();
    for (const list of found.values()) for (const r of list) ids.add(r.userId);
    const all = [...ids];
    const users = new Map<string, StoredUser>();
    for (let at = 0; at < all.length; at += IDS_PER_READ) {
      for (const [id, u] of await this.store.getUsers(all.slice(at, at + IDS_PER_READ))) users.set(id, u);
    }
    return users;
  }
}

const IDS_PER_READ = 1000;

/**
 * A stored value as the model's label: ratings clamped to the model's range (the store accepts
 * any finite value), implicit events as 1 when positive. One out-of-range value must not stop
 * an item, or every item, from warming up.
 */
function labelFor(model: ServingModel): (value: number) => number {
  if (model.task === 'implicit') return (v) => (v > 0 ? 1 : 0);
  const [lo, hi] = model.ratingRange;
  return (v) => Math.min(hi, Math.max(lo, v));
}
