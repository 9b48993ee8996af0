import { LRUCache } from 'lru-cache';
import type { EncodedItemSet, ItemPick, ServingModel } from '../ports/model-runtime.port';
import type { StorePort, StoredItem } from '../ports/store.port';
import type { ModelRef } from '../ports/types';
import { Shared } from '../cache/shared';
import { CatalogPages, PAGE_SIZE } from './catalog-pages';
import type { ItemWarmer } from './item-warmer';

/** Default of {@link ActiveCatalogOptions.freshnessMs}: another writer's items show within ~1 s. */
export const DEFAULT_FRESHNESS_MS = 1000;

/**
 * Default of {@link ActiveCatalogOptions.writeCoalesceMs}: item writes through this server are
 * applied at most every 100 ms (50 single-item writes a second then cost at most ten applications,
 * not 50).
 */
export const DEFAULT_WRITE_COALESCE_MS = 100;

/**
 * How far back (ms) each incremental read reaches before the newest write it has seen: a write
 * whose transaction commits after a read with an earlier `updatedAt` is still picked up.
 */
export const CHANGE_OVERLAP_MS = 5000;

/** What a lease serves: the items as of one change (pages never change once published). */
interface Snapshot {
  generation: number;
  /** The store's item watermark, read before the items (so they are at least this new). */
  mark: string;
  pages: readonly StoredItem[][];
}

export interface ActiveCatalogOptions {
  /**
   * Bound (in rows) of the cache of explicit candidate lists gathered from the encoding (see
   * {@link CatalogLease.selection}); 0 turns it off.
   */
  selectionRows?: number;
  /**
   * How often (at most) the store's item watermark is compared with the one the catalog was
   * read at; a difference (an item written by another replica or an import, or an item becoming
   * available) reads the items written since. 0 checks on every lease.
   */
  freshnessMs?: number;
  /**
   * Item writes through this server are applied (in the background) by the first lease once this
   * long (ms) has passed since the last change check, so a stream of writes is applied in
   * batches; 0 applies each write before the very next lease returns.
   */
  writeCoalesceMs?: number;
  /** Told about a failed watermark or change read (the catalog keeps serving what it has). */
  onError?: (err: unknown) => void;
  /**
   * Warms up new items on their first interactions, in the background; leases encode with the
   * rows it has made so far (see ItemWarmer).
   */
  warmer?: ItemWarmer;
}

/**
 * All active items, read once page by page from the store and kept in memory together with
 * their encodings for the serving model, so "rank everything" does not re-read and re-encode the
 * catalog per request. Changes are applied incrementally, at a cost that grows with the items
 * changed, not with the catalog: the items written since the newest write seen (their versions by
 * `itemVersionsSince`, reaching back {@link CHANGE_OVERLAP_MS}; only those whose version differs
 * are read) and those that became available since the last read (`newItemsSince`) replace, join
 * or leave their pages (catalog-pages.ts), and
 * only the pages they touched are encoded again; the other pages keep their encodings. An item
 * write through this server makes the next lease start applying changes once `writeCoalesceMs`
 * has passed since the last check (so a stream of writes is applied in batches, not one
 * application per write). Writes made elsewhere (another replica, `trainer import`)
 * are found by the store's item watermark, checked at most every `freshnessMs` by one query that
 * concurrent requests share (single flight). A check and the changes it applies run in the
 * background: requests meanwhile are served the catalog as it was, and the next ones see the
 * changes (with `freshnessMs` 0, or `writeCoalesceMs` 0 after a write through this server, the
 * request waits for the check instead). New
 * items' warmed rows re-encode only the pages holding the items warmed (ServingModel.warmedSince).
 */
export class ActiveCatalog {
  private readonly items = new CatalogPages();
  private generation = 0;
  /** The first full read (or the one after `invalidate`); then changes keep `current` new. */
  private loading: Promise<void> | undefined;
  private current: Snapshot | undefined;
  /** The newest item write seen (ms of `updatedAt`) and when the last read started. */
  private newestWrite = 0;
  private lastRead = new Date(0);
  /** Versions read by the last change read (what its overlap with the next one need not read again). */
  private recent = new Map<string, number>();
  /** Encodings by model version: the serving one, and during a promotion the incoming one. */
  private readonly encodings = new Map<string, Encoding>();
  private checking: Promise<void> | undefined;
  private checkedAt = -Infinity;
  /** An item write through this server: the next lease applies changes before it is served. */
  private written = false;
  private readonly selectionRows: number;
  private readonly freshnessMs: number;
  private readonly writeCoalesceMs: number;
  private readonly onError: ((err: unknown) => void) | undefined;
  private readonly warmer: ItemWarmer | undefined;

  constructor(
    private readonly store: StorePort,
    options: ActiveCatalogOptions = {},
  ) {
    this.selectionRows = options.selectionRows ?? 0;
    this.freshnessMs = options.freshnessMs ?? DEFAULT_FRESHNESS_MS;
    this.writeCoalesceMs = options.writeCoalesceMs ?? DEFAULT_WRITE_COALESCE_MS;
    this.onError = options.onError;
    this.warmer = options.warmer;
  }

  /** Interactions were ingested through this server: new items among them warm up on the next lease. */
  interactionsIngested(): void {
    this.warmer?.ingested();
  }

  /** Items were written through this server: the next lease applies the changes first. */
  itemsWritten(): void {
    this.written = true;
  }

  /** Drops everything: the next lease reads the whole catalog again and encodes it anew. */
  invalidate(): void {
    this.generation += 1;
    this.loading = undefined;
    this.current = undefined;
    for (const key of [...this.encodings.keys()]) this.dropEncoded(key);
  }

  /** Items currently in the catalog (after the last change applied). */
  get size(): number {
    return this.items.size;
  }

  /**
   * Pages of active items with their encodings for `model`. The caller must `release()` the
   * lease: a change meanwhile frees the encodings it replaced only after the last lease ends.
   */
  async lease(model: ServingModel): Promise<CatalogLease> {
    // The newest snapshot (a background check may have applied changes since latest() resolved).
    const snap = this.newest(await this.latest());
    // New items' warmed rows change the encoding: the key holds the model's warm version (a
    // due warm-up starts in the background; this lease uses the rows there are).
    void this.warmer?.refresh(model, snap.pages);
    const encoding = this.encodingFor(model, snap);
    const shared = encoding.pages.retain();
    const encodedPages = shared.value;
    return {
      pages: encodedPages.pages,
      find: (id) => encodedPages.find(id),
      locate: (ids) => encodedPages.locate(ids),
      selection: (ids, key) => encodedPages.selection(ids, key),
      release: () => shared.release(),
    };
  }

  /**
   * Starts a due warm-up of new items for `model` (see ItemWarmer), for requests that encode
   * their own candidates instead of leasing the catalog (Score, items since a time). Returns at
   * once; reading the catalog (the first time) and the warm-up run in the background.
   */
  warmUp(model: ServingModel): void {
    const warmer = this.warmer;
    if (!warmer?.enabled) return;
    // The catalog's items (read once, shared with leases) tell the new items apart.
    this.latest().then(
      (snap) => void warmer.refresh(model, snap.pages),
      () => undefined, // a failed read is retried by the next lease
    );
  }

  /**
   * Reads the catalog (the first time) and encodes it for `model`, so the version's first
   * requests find it ready (the server calls this before a version takes traffic). Returns the
   * number of items and pages.
   */
  async prepare(model: ServingModel): Promise<{ items: number; pages: number }> {
    const lease = await this.lease(model);
    try {
      return { items: lease.pages.reduce((n, p) => n + p.items.length, 0), pages: lease.pages.length };
    } finally {
      lease.release();
    }
  }

  /** Frees encodings made by a model that no longer serves. */
  retainOnly(ref: ModelRef): void {
    for (const key of [...this.encodings.keys()]) if (key !== refKey(ref)) this.dropEncoded(key);
  }

  /** The catalog as of now: the first read, or changes applied when a check is due. */
  private async latest(): Promise<Snapshot> {
    if (!this.current) await (this.loading ??= this.load());
    // A due check runs in the background and the lease serves the catalog as it is (the next
    // leases see the changes), unless the settings ask for immediacy: every lease checks
    // (`freshnessMs` 0), or a write through this server is applied before the next request
    // (`writeCoalesceMs` 0).
    const immediate = this.freshnessMs === 0 || (this.written && this.writeCoalesceMs === 0);
    const check = this.checkChanges();
    if (check && immediate) await check;
    return this.current!;
  }

  private newest(snap: Snapshot): Snapshot {
    return this.current && this.current.generation > snap.generation ? this.current : snap;
  }

  /** Resolves once the running change check, if any, has ended (its changes applied). */
  async settled(): Promise<void> {
    await this.checking;
  }

  /**
   * The running change check, or a new one when the last check started `freshnessMs` ago or
   * more, or `writeCoalesceMs` ago or more and this server wrote items since; undefined when none
   * is due.
   */
  private checkChanges(): Promise<void> | undefined {
    if (this.checking) return this.checking;
    const snap = this.current;
    if (!snap) return undefined;
    const now = Date.now();
    const since = now - this.checkedAt;
    if (since < this.freshnessMs && !(this.written && since >= this.writeCoalesceMs)) return undefined;
    this.checkedAt = now;
    const written = this.written;
    this.written = false;
    const generation = this.generation;
    const run = (async () => {
      try {
        const mark = await this.store.itemsWatermark();
        if ((written || mark !== snap.mark) && generation === this.generation) await this.applyChanges(mark);
      } catch (err) {
        // A write through this server is retried by the next lease.
        if (written) this.written = true;
        this.onError?.(err);
      } finally {
        this.checking = undefined;
      }
    })();
    this.checking = run;
    return run;
  }

  /**
   * Reads what changed since the last read and applies it (catalog-pages.ts): the versions of
   * the items written since the newest write seen (reaching back CHANGE_OVERLAP_MS), the items
   * among them whose version the catalog does not hold yet (read through `getItems`, past the
   * store's cache), and the items that became available since the last read.
   */
  private async applyChanges(mark: string): Promise<void> {
    const generation = this.generation;
    const startedAt = new Date();
    const versions = await this.readAll((page) =>
      this.store.itemVersionsSince(new Date(this.newestWrite - CHANGE_OVERLAP_MS), page),
    );
    const stale = versions
      .filter((v) => (this.items.versionOf(v.id) ?? this.recent.get(v.id)) !== v.updatedAt.getTime())
      .map((v) => v.id);
    // Changed items may sit in the store's read cache (explicit candidates the catalog lacks and
    // support items are read through it): drop them, so the read below is fresh too.
    this.store.forgetItems(stale);
    const changed: StoredItem[] = [];
    for (let at = 0; at < stale.length; at += PAGE_SIZE)
      for (const item of (await this.store.getItems(stale.slice(at, at + PAGE_SIZE))).values())
        changed.push(item);
    const available = await this.readAll((page) => this.store.newItemsSince(this.lastRead, page));
    if (generation !== this.generation) return; // invalidated meanwhile: the full read wins
    const ids = this.items.apply([...changed, ...available], (item) => isActive(item, startedAt));
    for (const v of versions) this.newestWrite = Math.max(this.newestWrite, v.updatedAt.getTime());
    // The next read overlaps this one: items seen here that the catalog does not hold (retired,
    // not available yet) are not read again unless written again.
    this.recent = new Map(versions.map((v) => [v.id, v.updatedAt.getTime()]));
    this.lastRead = startedAt;
    this.current =
      ids.length > 0
        ? { generation: ++this.generation, mark, pages: this.items.pages }
        : { ...this.current!, mark };
  }

  private async load(): Promise<void> {
    const generation = this.generation;
    const loading = (async () => {
      const startedAt = new Date();
      const mark = await this.store.itemsWatermark();
      const all = await this.readAll((page) => this.store.activeItems(page));
      if (generation !== this.generation) return;
      const active = all.filter((i) => i.status === 'active');
      this.items.reset(active);
      // A loop, not Math.max(...spread): a 1M-item catalog overflows the call stack as arguments.
      this.newestWrite = active.reduce((newest, item) => Math.max(newest, updated(item)), 0);
      this.lastRead = startedAt;
      this.checkedAt = Date.now();
      this.current = { generation: ++this.generation, mark, pages: this.items.pages };
    })();
    // A failed read is not kept: the next lease tries again.
    loading.catch(() => {
      if (this.loading === loading) this.loading = undefined;
    });
    return loading;
  }

  private async readAll<T>(
    read: (page: { pageSize: number; cursor?: string }) => Promise<{ items: T[]; nextCursor?: string }>,
  ): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | undefined;
    do {
      const page = await read(cursor ? { pageSize: PAGE_SIZE, cursor } : { pageSize: PAGE_SIZE });
      for (const item of page.items) out.push(item);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  /**
   * The encoding of `snap` for `model`: pages whose items and warmed rows are unchanged since the
   * last encoding for the same model keep their encodings; the others are encoded anew.
   */
  private encodingFor(model: ServingModel, snap: Snapshot): Encoding {
    const ref = refKey(model.ref);
    const previous = this.encodings.get(ref);
    if (previous && previous.generation === snap.generation && previous.warmVersion === model.warmVersion)
      return previous;
    // Pages holding items whose warmed rows changed since the previous encoding (all: unknown).
    const warmed =
      previous && previous.warmVersion !== model.warmVersion
        ? model.warmedSince(previous.warmVersion)
        : new Set<string>();
    const stale = new Set<readonly StoredItem[]>();
    for (const id of warmed ?? []) {
      const page = this.items.pageOf(id);
      if (page) stale.add(page);
    }
    const shares = snap.pages.map((items) => {
      const kept = warmed && !stale.has(items) ? previous?.pages.value.shareOf(items) : undefined;
      return kept ? kept.retain() : new Shared(model.encodeItems(items as StoredItem[]));
    });
    const pages = new EncodedPages(model, snap.pages, shares, this.selectionRows, this.items);
    this.dropEncoded(ref);
    const encoding = {
      generation: snap.generation,
      warmVersion: model.warmVersion,
      pages: new Shared(pages),
    };
    this.encodings.set(ref, encoding);
    return encoding;
  }

  private dropEncoded(ref: string): void {
    this.encodings.get(ref)?.pages.release();
    this.encodings.delete(ref);
  }
}

interface Encoding {
  generation: number;
  warmVersion: number;
  pages: Shared<EncodedPages>;
}

const updated = (item: StoredItem) => item.updatedAt?.getTime() ?? 0;

/** Recommendable now: active, and available (no `availableAt` counts as available). */
function isActive(item: StoredItem, now: Date): boolean {
  return item.status === 'active' && (item.availableAt === undefined || item.availableAt <= now);
}

const refKey = (r: ModelRef) => `${r.modelId}@${r.version}`;

export interface CatalogPage {
  items: StoredItem[];
  encoded: EncodedItemSet;
}

export interface CatalogLease {
  pages: readonly CatalogPage[];
  /** Where an active item's encoding is (explicit candidates gather these rows instead of encoding). */
  find(itemId: string): { page: CatalogPage; row: number } | undefined;
  /**
   * Explicit candidates located in one pass: the unique ids in request order, where each is
   * (`find`), and the unique ids the catalog lacks, in order.
   */
  locate(ids: readonly string[]): {
    unique: string[];
    found: ({ page: CatalogPage; row: number } | undefined)[];
    missing: string[];
  };
  /**
   * The explicit candidate list `ids` (unique ids in request order) gathered from these
   * encodings and kept in a bounded LRU belonging to this encoding, so a list sent again (the
   * same candidate ids on every call) is neither located nor gathered again; an item write drops
   * the encoding and with it every kept list. Undefined when the list is not kept: seen for the
   * first time within a short window (one-off lists are not worth keeping), larger than the
   * bound, or holding an id that is not an active catalog item. The caller must `release()` the
   * returned reference.
   */
  selection(ids: readonly string[], key?: string): Shared<CandidateSelection> | undefined;
  release(): void;
}

/** Explicit candidates gathered from the catalog's encodings. */
export class CandidateSelection {
  private rows: Map<string, number> | undefined;

  constructor(readonly encoded: EncodedItemSet) {}

  /** Row of an item id (built on first use, then kept with the selection). */
  rowOf(itemId: string): number | undefined {
    if (!this.rows) {
      const rows = new Map<string, number>();
      this.encoded.ids.forEach((id, row) => rows.set(id, row));
      this.rows = rows;
    }
    return this.rows.get(itemId);
  }

  dispose(): void {
    this.encoded.dispose();
  }
}

interface Gathered {
  ids: readonly string[];
  selection: Shared<CandidateSelection>;
}

/** Length and FNV-1a hash of an id list (ids separated, so ["ab"] and ["a", "b"] differ). */
function fingerprint(ids: readonly string[]): string {
  let h = 0x811c9dc5;
  for (const id of ids) {
    for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
    h = Math.imul(h ^ 0xffff, 0x01000193);
  }
  return `${ids.length}:${h >>> 0}`;
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Row of each item id in a published (never mutated) page array, built once per page. */
const pageRows = new WeakMap<readonly StoredItem[], Map<string, number>>();

function rowsOf(items: readonly StoredItem[]): Map<string, number> {
  let rows = pageRows.get(items);
  if (!rows) {
    rows = new Map(items.map((item, row) => [item.id, row]));
    pageRows.set(items, rows);
  }
  return rows;
}

class EncodedPages {
  readonly pages: CatalogPage[];
  /** Each page's encoding by its item array (a later encoding reuses the unchanged ones). */
  private readonly shares = new Map<readonly StoredItem[], Shared<EncodedItemSet>>();
  /**
   * Item id -> page and row, built on the first explicit-candidate lookup (`locate`; `find` does
   * without it). `mark` is scratch for locate's duplicate test (locate runs synchronously, so
   * one counter serves every request).
   */
  private indexed: Map<string, { page: CatalogPage; row: number; mark: number }> | undefined;
  private marks = 0;
  /** Gathered explicit candidate lists by a fingerprint of their ids (the ids are compared on a hit). */
  private readonly selections: LRUCache<string, Gathered> | undefined;
  /** Fingerprints of frozen (shared, see RecommendRequestDecoder) id lists already seen. */
  private readonly keys = new WeakMap<readonly string[], string>();
  /**
   * Fingerprints of lists gathered once: a list is kept only when it comes again, so one-off
   * lists (each request its own candidates) neither churn the cache nor hold its memory.
   */
  // A list must come back within 64 other lists (the default bound keeps 50 of 1,000 rows; a
  // list coming back later would have been evicted anyway).
  private readonly seenOnce = new LRUCache<string, true>({ max: 64 });

  /** This encoding's pages that the catalog has replaced since, as of `replacedAsOf`. */
  private replaced: CatalogPage[] = [];
  private replacedAsOf: readonly StoredItem[][] | undefined;

  /**
   * Takes over one reference of each of `shares` (one per page of `items`). `catalog` is where
   * the items are now (its pages change after this encoding is made; see `find`).
   */
  constructor(
    private readonly model: ServingModel,
    items: readonly (readonly StoredItem[])[],
    shares: readonly Shared<EncodedItemSet>[],
    private readonly maxRows: number,
    private readonly catalog: CatalogPages,
  ) {
    this.pages = items.map((page, i) => {
      this.shares.set(page, shares[i]!);
      return { items: page as StoredItem[], encoded: shares[i]!.value };
    });
    this.selections =
      maxRows > 0
        ? new LRUCache<string, Gathered>({
            maxSize: maxRows,
            sizeCalculation: (g) => Math.max(1, g.selection.value.encoded.ids.length),
            // Requests still scoring with an evicted list hold their own reference.
            dispose: (g) => g.selection.release(),
          })
        : undefined;
  }

  /** The encoding of a page of this encoding, by its item array. */
  shareOf(items: readonly StoredItem[]): Shared<EncodedItemSet> | undefined {
    return this.shares.get(items);
  }

  private get index(): Map<string, { page: CatalogPage; row: number; mark: number }> {
    if (!this.indexed) {
      const index = new Map<string, { page: CatalogPage; row: number; mark: number }>();
      for (const page of this.pages)
        page.items.forEach((item, row) => index.set(item.id, { page, row, mark: 0 }));
      this.indexed = index;
    }
    return this.indexed;
  }

  /**
   * Where this encoding holds `id`, without an index of the whole catalog (rebuilding one after
   * every item write cost more than ranking a 100k catalog in two stages): the catalog's page of
   * the item now, when this encoding holds that page, else one of this encoding's pages the
   * catalog has replaced since (a page array never changes, so an item on a page both hold is
   * where the catalog says), each page's rows looked up in a map built once per page.
   */
  find(id: string): { page: CatalogPage; row: number } | undefined {
    if (this.indexed) return this.indexed.get(id);
    const now = this.catalog.pageOf(id);
    const page = now && this.shares.has(now) ? this.byItems(now) : undefined;
    if (page) return { page, row: rowsOf(now!).get(id)! };
    for (const old of this.replacedPages()) {
      const row = rowsOf(old.items).get(id);
      if (row !== undefined) return { page: old, row };
    }
    return undefined;
  }

  private byItems(items: readonly StoredItem[]): CatalogPage | undefined {
    this.pageOfItems ??= new Map(this.pages.map((p) => [p.items as readonly StoredItem[], p]));
    return this.pageOfItems.get(items);
  }

  private pageOfItems: Map<readonly StoredItem[], CatalogPage> | undefined;

  private replacedPages(): CatalogPage[] {
    const now = this.catalog.pages;
    if (this.replacedAsOf !== now) {
      const live = new Set<readonly StoredItem[]>(now);
      this.replaced = this.pages.filter((p) => !live.has(p.items));
      this.replacedAsOf = now;
    }
    return this.replaced;
  }

  locate(ids: readonly string[]) {
    const unique: string[] = [];
    const found: ({ page: CatalogPage; row: number } | undefined)[] = [];
    const missing: string[] = [];
    // Duplicates among catalog items are told by the entry's mark (no Set of 1,000 ids).
    if (++this.marks > 0x3fffffff) {
      for (const entry of this.index.values()) entry.mark = 0;
      this.marks = 1;
    }
    const mark = this.marks;
    const index = this.index;
    let absent: Set<string> | undefined;
    for (const id of ids) {
      const at = index.get(id);
      if (at) {
        if (at.mark === mark) continue;
        at.mark = mark;
      } else {
        absent ??= new Set();
        if (absent.has(id)) continue;
        absent.add(id);
        missing.push(id);
      }
      unique.push(id);
      found.push(at);
    }
    return { unique, found, missing };
  }

  selection(ids: readonly string[], decodedKey?: string): Shared<CandidateSelection> | undefined {
    if (!this.selections) return undefined;
    // A list decoded from bytes seen before is the same (frozen) array: its key is remembered.
    const known = this.keys.get(ids);
    const key = known ?? decodedKey ?? fingerprint(ids);
    const cached = this.selections.get(key);
    if (cached && (cached.ids === ids || sameIds(cached.ids, ids))) {
      if (known === undefined && Object.isFrozen(ids)) this.keys.set(ids, key);
      return cached.selection.retain();
    }
    // Kept from the second request within a short window on; a one-off list is gathered by the
    // request itself, after adaptation, and freed right after scoring.
    if (!this.seenOnce.has(key)) {
      this.seenOnce.set(key, true);
      return undefined;
    }
    const picks: ItemPick[] = [];
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      const at = this.index.get(id);
      if (!at) return undefined;
      picks.push({ source: at.page.encoded, row: at.row });
    }
    if (picks.length === 0 || picks.length > this.maxRows) return undefined;
    const made = new Shared(new CandidateSelection(this.model.selectItems(picks)));
    // A fingerprint collision replaces the other list (the cache releases it).
    const frozen = Object.isFrozen(ids);
    if (frozen) this.keys.set(ids, key);
    this.selections.set(key, { ids: frozen ? ids : ids.slice(), selection: made.retain() });
    return made;
  }

  dispose(): void {
    this.selections?.clear();
    for (const share of this.shares.values()) share.release();
  }
}
