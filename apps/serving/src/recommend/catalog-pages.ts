import type { StoredItem } from '../ports/store.port';

/** Items per catalog page: the unit of encoding, so a change re-encodes at most this many items. */
export const PAGE_SIZE = 1000;

/**
 * The active catalog's items in pages, kept up to date by changes instead of re-reads. Published
 * page arrays are never mutated: a change replaces the pages it touches with new arrays (copy on
 * write), so encodings keyed by page identity stay valid for every page it did not touch, and a
 * request still holding the old pages keeps a consistent view. Changes are applied one batch at a
 * time (the catalog's single flight).
 */
export class CatalogPages {
  private pageList: StoredItem[][] = [];
  /** Item id -> the page array holding it. */
  private readonly where = new Map<string, StoredItem[]>();
  /** updatedAt (ms) per item held: a re-read of an unchanged item is told apart and skipped. */
  private readonly versions = new Map<string, number>();

  /** The pages (each array is published: never mutated). */
  get pages(): readonly StoredItem[][] {
    return this.pageList;
  }

  get size(): number {
    return this.where.size;
  }

  /** The version (`updatedAt`, ms) of the item the catalog holds under `id`. */
  versionOf(id: string): number | undefined {
    return this.versions.get(id);
  }

  /** The page holding `id`, if the catalog holds it. */
  pageOf(id: string): StoredItem[] | undefined {
    return this.where.get(id);
  }

  /** Replaces everything with `items` (a full read), in their order, PAGE_SIZE per page. */
  reset(items: readonly StoredItem[]): void {
    this.where.clear();
    this.versions.clear();
    this.pageList = [];
    for (let at = 0; at < items.length; at += PAGE_SIZE) {
      const page = items.slice(at, at + PAGE_SIZE);
      this.pageList.push(page);
      for (const item of page) this.hold(item, page);
    }
  }

  /**
   * Applies items read as written since the last look: an active one (`isActive`) is added (to
   * the last page, or a new one when it is full) or replaces its older version in place; an
   * inactive one (retired, or not available yet) is removed. An item whose version the catalog
   * already holds is skipped (reads overlap). Returns the ids that changed the catalog.
   */
  apply(items: readonly StoredItem[], isActive: (item: StoredItem) => boolean): string[] {
    // The latest version of each id (a batch may hold one item twice across overlapping reads).
    const latest = new Map<string, StoredItem>();
    for (const item of items) {
      const seen = latest.get(item.id);
      if (!seen || version(item) >= version(seen)) latest.set(item.id, item);
    }
    const edits = new Map<StoredItem[], Map<string, StoredItem | null>>();
    const added: StoredItem[] = [];
    const changed: string[] = [];
    for (const item of latest.values()) {
      const page = this.where.get(item.id);
      const active = isActive(item);
      if (page) {
        if (active && this.versions.get(item.id) === version(item)) continue;
        let edit = edits.get(page);
        if (!edit) edits.set(page, (edit = new Map()));
        edit.set(item.id, active ? item : null);
      } else if (active) added.push(item);
      else continue;
      changed.push(item.id);
    }
    if (changed.length === 0) return changed;
    // Rewrite each touched page once (order kept; removed items dropped), then append.
    const replaced = new Map<StoredItem[], StoredItem[]>();
    for (const [page, edit] of edits) {
      const next: StoredItem[] = [];
      for (const item of page) {
        const change = edit.get(item.id);
        if (change === undefined) next.push(item);
        else if (change !== null) next.push(change);
      }
      replaced.set(page, next);
    }
    const published = new Set(this.pageList);
    const dropped = [...replaced.keys()];
    let list = this.pageList.map((p) => replaced.get(p) ?? p);
    if (added.length > 0) {
      let tail: StoredItem[] | undefined;
      const lastAt = list.length - 1;
      if (lastAt >= 0 && list[lastAt].length < PAGE_SIZE) {
        tail = list[lastAt];
        // A published page is copied before it grows; one rewritten above is not published yet.
        if (published.has(tail)) {
          dropped.push(tail);
          tail = list[lastAt] = tail.slice();
        }
      }
      for (const item of added) {
        if (!tail || tail.length >= PAGE_SIZE) list.push((tail = []));
        tail.push(item);
      }
    }
    list = list.filter((p) => p.length > 0);
    // Only the items of replaced pages change owner: O(changed pages x PAGE_SIZE), not O(catalog).
    for (const page of dropped)
      for (const item of page)
        if (this.where.get(item.id) === page) {
          this.where.delete(item.id);
          this.versions.delete(item.id);
        }
    for (const page of list) if (!published.has(page)) for (const item of page) this.hold(item, page);
    this.pageList = list;
    return changed;
  }

  private hold(item: StoredItem, page: StoredItem[]): void {
    this.where.set(item.id, page);
    this.versions.set(item.id, version(item));
  }
}

const version = (item: StoredItem) => item.updatedAt?.getTime() ?? 0;
