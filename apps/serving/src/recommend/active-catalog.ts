import { LRUCache } from 'lru-cache';
import type { EncodedItemSet, ItemPick, ServingModel } from '../ports/model-runtime.port';
import type { StorePort, StoredItem } from '../ports/store.port';
import type { ModelRef } from '../ports/types';
import { Shared } from '../cache/shared';
import type { ItemWarmer } from './item-warmer';

const PAGE_SIZE = 1000;

/** Default of {@link ActiveCatalogOptions.freshnessMs}: another writer's items show within ~1 s. */
export const DEFAULT_FRESHNESS_MS = 1000;

interface Snapshot {
  generation: number;
  /** The store's item watermark, read before the pages (so the pages are at least this new). */
  mark: string;
  pages: StoredItem[][];
  /** updatedAt (ms) per item id: what changed is told apart on the next read. */
  versions: Map<string, number>;
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
   * available) re-reads the catalog. 0 checks on every lease.
   */
  freshnessMs?: number;
  /** Told about a failed watermark read (the catalog keeps serving what it has). */
  onError?: (err: unknown) => void;
  /**
   * Warms up new items on their first interactions, in the background; leases encode with the
   * rows it has made so far (see ItemWarmer).
   */
  warmer?: ItemWarmer;
}

/**
 * All active items, read page by page from the store and kept in memory together with their
 * encodings for the serving model, so "rank everything" does not re-read and re-encode the
 * catalog per request. An item write through this server bumps the generation: the next request
 * re-reads, so a new item is recommendable on the very next call. Writes made elsewhere (another
 * replica, `trainer import`) are found by the store's item watermark, checked at most every
 * `freshnessMs` by one query that concurrent requests share (single flight); requests arriving
 * during a check wait for it, so a write older than `freshnessMs` is always seen.
 */
export class ActiveCatalog {
  private generation = 0;
  private snapshot: Promise<Snapshot> | undefined;
  /** The last snapshot read (resolved), for the change check and the item-cache diff. */
  private current: Snapshot | undefined;
  private encoded: { key: string; pages: Shared<EncodedPages> } | undefined;
  private checking: Promise<void> | undefined;
  private checkedAt = -Infinity;
  private readonly selectionRows: number;
  private readonly freshnessMs: number;
  private readonly onError: ((err: unknown) => void) | undefined;
  private readonly warmer: ItemWarmer | undefined;

  constructor(
    private readonly store: StorePort,
    options: ActiveCatalogOptions = {},
  ) {
    this.selectionRows = options.selectionRows ?? 0;
    this.freshnessMs = options.freshnessMs ?? DEFAULT_FRESHNESS_MS;
    this.onError = options.onError;
    this.warmer = options.warmer;
  }

  /** Interactions were ingested through this server: new items among them warm up on the next lease. */
  interactionsIngested(): void {
    this.warmer?.ingested();
  }

  invalidate(): void {
    this.generation += 1;
    this.snapshot = undefined;
    this.dropEncoded();
  }

  /**
   * Pages of active items with their encodings for `model`. The caller must `release()` the
   * lease: an invalidation meanwhile frees the encodings only after the last lease ends.
   */
  async lease(model: ServingModel): Promise<CatalogLease> {
    const check = this.checkFreshness();
    if (check) await check;
    const snap = await (this.snapshot ??= this.load(this.generation));
    // New items' warmed rows change the encoding: the key holds the model's warm version (a
    // due warm-up starts in the background; this lease uses the rows there are).
    void this.warmer?.refresh(model, snap.pages);
    const key = `${refKey(model.ref)}#${snap.generation}#${model.warmVersion}`;
    if (this.encoded?.key !== key) {
      this.dropEncoded();
      const encoded = snap.pages.map((p) => model.encodeItems(p));
      const pages = new EncodedPages(
        model,
        snap.pages.map((items, i) => ({ items, encoded: encoded[i] as EncodedItemSet })),
        this.selectionRows,
      );
      this.encoded = { key, pages: new Shared(pages) };
    }
    const shared = this.encoded.pages.retain();
    const encodedPages = shared.value;
    const { pages, index } = encodedPages;
    return {
      pages,
      find: (id) => index.get(id),
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
    (this.snapshot ??= this.load(this.generation)).then(
      (snap) => void warmer.refresh(model, snap.pages),
      () => undefined, // a failed read is retried by the next lease
    );
  }

  /**
   * The running watermark check, or a new one when the last started `freshnessMs` ago or more;
   * undefined when none is due (or nothing was read yet: the first read takes the watermark).
   */
  private checkFreshness(): Promise<void> | undefined {
    if (this.checking) return this.checking;
    const snap = this.current;
    if (snap === undefined || this.snapshot === undefined) return undefined;
    const now = Date.now();
    if (now - this.checkedAt < this.freshnessMs) return undefined;
    this.checkedAt = now;
    const run = (async () => {
      try {
        const mark = await this.store.itemsWatermark();
        // Still the snapshot the mark is compared with (a local write may have replaced it).
        if (mark !== snap.mark && this.current === snap && snap.generation === this.generation)
          this.invalidate();
      } catch (err) {
        this.onError?.(err);
      } finally {
        this.checking = undefined;
      }
    })();
    this.checking = run;
    return run;
  }

  /** Frees encodings made by a model that no longer serves. */
  retainOnly(ref: ModelRef): void {
    if (this.encoded && !this.encoded.key.startsWith(`${refKey(ref)}#`)) this.dropEncoded();
  }

  private dropEncoded(): void {
    this.encoded?.pages.release();
    this.encoded = undefined;
  }

  private load(generation: number): Promise<Snapshot> {
    const loading = this.read(generation);
    // A failed read is not kept: the next lease tries again.
    loading.catch(() => {
      if (this.snapshot === loading) this.snapshot = undefined;
    });
    return loading;
  }

  private async read(generation: number): Promise<Snapshot> {
    const mark = await this.store.itemsWatermark();
    const pages: StoredItem[][] = [];
    const versions = new Map<string, number>();
    let cursor: string | undefined;
    do {
      const page = await this.store.activeItems(
        cursor ? { pageSize: PAGE_SIZE, cursor } : { pageSize: PAGE_SIZE },
      );
      const active = page.items.filter((i) => i.status === 'active');
      for (const item of active) versions.set(item.id, item.updatedAt?.getTime() ?? 0);
      if (active.length > 0) pages.push(active);
      cursor = page.nextCursor;
    } while (cursor);
    const previous = this.current;
    if (previous) {
      // Items changed or gone since the last read may sit in the store's read cache (explicit
      // candidates the catalog lacks and support items are read through it): drop them.
      const changed: string[] = [];
      for (const [id, version] of previous.versions) if (versions.get(id) !== version) changed.push(id);
      this.store.forgetItems(changed);
    }
    const snap = { generation, mark, pages, versions };
    if (generation === this.generation) this.current = snap;
    return snap;
  }
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

class EncodedPages {
  /**
   * Item id -> page and row, built once per encoding. `mark` is scratch for locate's duplicate
   * test (locate runs synchronously, so one counter serves every request).
   */
  readonly index = new Map<string, { page: CatalogPage; row: number; mark: number }>();
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

  constructor(
    private readonly model: ServingModel,
    readonly pages: CatalogPage[],
    private readonly maxRows: number,
  ) {
    for (const page of pages)
      page.items.forEach((item, row) => this.index.set(item.id, { page, row, mark: 0 }));
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
    let absent: Set<string> | undefined;
    for (const id of ids) {
      const at = this.index.get(id);
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
    for (const p of this.pages) p.encoded.dispose();
  }
}
