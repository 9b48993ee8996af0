import type { EncodedItemSet, ServingModel } from '../ports/model-runtime.port';
import type { StorePort, StoredItem } from '../ports/store.port';
import type { ModelRef } from '../ports/types';
import { Shared } from '../cache/shared';

const PAGE_SIZE = 1000;

interface Snapshot {
  generation: number;
  pages: StoredItem[][];
}

/**
 * All active items, read page by page from the store and kept in memory together with their
 * encodings for the serving model, so "rank everything" does not re-read and re-encode the
 * catalog per request. Any item write bumps the generation: the next request re-reads, so a new
 * item is recommendable on the very next call.
 */
export class ActiveCatalog {
  private generation = 0;
  private snapshot: Promise<Snapshot> | undefined;
  private encoded: { key: string; pages: Shared<EncodedPages> } | undefined;

  constructor(private readonly store: StorePort) {}

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
    const snap = await (this.snapshot ??= this.load(this.generation));
    const key = `${refKey(model.ref)}#${snap.generation}`;
    if (this.encoded?.key !== key) {
      this.dropEncoded();
      const encoded = snap.pages.map((p) => model.encodeItems(p));
      const pages = new EncodedPages(
        snap.pages.map((items, i) => ({ items, encoded: encoded[i] as EncodedItemSet })),
      );
      this.encoded = { key, pages: new Shared(pages) };
    }
    const shared = this.encoded.pages.retain();
    const { pages, index } = shared.value;
    return { pages, find: (id) => index.get(id), release: () => shared.release() };
  }

  /** Frees encodings made by a model that no longer serves. */
  retainOnly(ref: ModelRef): void {
    if (this.encoded && !this.encoded.key.startsWith(`${refKey(ref)}#`)) this.dropEncoded();
  }

  private dropEncoded(): void {
    this.encoded?.pages.release();
    this.encoded = undefined;
  }

  private async load(generation: number): Promise<Snapshot> {
    const pages: StoredItem[][] = [];
    let cursor: string | undefined;
    do {
      const page = await this.store.activeItems(
        cursor ? { pageSize: PAGE_SIZE, cursor } : { pageSize: PAGE_SIZE },
      );
      const active = page.items.filter((i) => i.status === 'active');
      if (active.length > 0) pages.push(active);
      cursor = page.nextCursor;
    } while (cursor);
    return { generation, pages };
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
  release(): void;
}

class EncodedPages {
  /** Item id -> page and row, built once per encoding. */
  readonly index = new Map<string, { page: CatalogPage; row: number }>();

  constructor(readonly pages: CatalogPage[]) {
    for (const page of pages) page.items.forEach((item, row) => this.index.set(item.id, { page, row }));
  }

  dispose(): void {
    for (const p of this.pages) p.encoded.dispose();
  }
}
