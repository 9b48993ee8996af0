import type { ItemRecord } from '../data/types';
import { contentKeys } from './content-features';

/** A sparse vector: column indices (ascending) and their values. */
export interface SparseVector {
  cols: Int32Array;
  vals: Float64Array;
}

/**
 * Items' categorical content (content-features.ts columns) as TF-IDF vectors of unit length, for
 * cosine similarity: a rare genre says more than a common one. A value held by one item only is
 * dropped (it can never match another item; e.g. a title field), as are items with no content
 * (`vector` returns undefined).
 */
export class ContentVectors {
  private readonly cache = new Map<string, SparseVector | null>();

  private constructor(
    private readonly columns: Map<string, number>,
    private readonly idf: Float64Array,
    private readonly items: { get(id: string): ItemRecord | undefined },
  ) {}

  static fit(
    catalog: Iterable<ItemRecord>,
    items: { get(id: string): ItemRecord | undefined },
  ): ContentVectors {
    const df = new Map<string, number>();
    let n = 0;
    for (const item of catalog) {
      const keys = new Set(contentKeys(item).map((k) => k.key));
      if (keys.size > 0) n++;
      for (const key of keys) df.set(key, (df.get(key) ?? 0) + 1);
    }
    const columns = new Map<string, number>();
    const idf: number[] = [];
    for (const [key, count] of df) {
      if (count < 2) continue;
      columns.set(key, columns.size);
      idf.push(Math.log((1 + n) / (1 + count)) + 1);
    }
    return new ContentVectors(columns, Float64Array.from(idf), items);
  }

  /** Whether any item has content shared with another item. */
  get empty(): boolean {
    return this.columns.size === 0;
  }

  vector(itemId: string): SparseVector | undefined {
    let v = this.cache.get(itemId);
    if (v === undefined) {
      v = this.encode(this.items.get(itemId));
      this.cache.set(itemId, v);
    }
    return v ?? undefined;
  }

  private encode(item: ItemRecord | undefined): SparseVector | null {
    if (!item) return null;
    const row = new Map<number, number>();
    for (const { key, value } of contentKeys(item)) {
      const col = this.columns.get(key);
      if (col !== undefined) row.set(col, (row.get(col) ?? 0) + value * this.idf[col]);
    }
    if (row.size === 0) return null;
    const entries = [...row].sort((a, b) => a[0] - b[0]);
    const norm = Math.sqrt(entries.reduce((s, [, v]) => s + v * v, 0));
    return {
      cols: Int32Array.from(entries, ([c]) => c),
      vals: Float64Array.from(entries, ([, v]) => v / norm),
    };
  }
}

/** Cosine of two unit vectors (a merge over their sorted columns). */
export function sparseDot(a: SparseVector, b: SparseVector): number {
  let i = 0;
  let j = 0;
  let s = 0;
  while (i < a.cols.length && j < b.cols.length) {
    if (a.cols[i] === b.cols[j]) s += a.vals[i++] * b.vals[j++];
    else if (a.cols[i] < b.cols[j]) i++;
    else j++;
  }
  return s;
}
