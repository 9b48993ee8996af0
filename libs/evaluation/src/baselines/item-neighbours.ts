import type { InteractionIndex } from './interaction-index';
import { TopK } from './top-k';

/**
 * Each item's nearest items by cosine similarity of their (binary) user columns,
 * co(i, j) / sqrt(n_i n_j), most similar first (ties: lower index first), at most `maxK` per item.
 * Built from co-occurrence counts one item at a time (a dense accumulator over the items that
 * share a user with it), so memory stays O(items x maxK) and time O(sum over users of row^2).
 */
export class ItemNeighbours {
  private constructor(
    /** Item `i`'s neighbours are entries ptr[i] .. ptr[i+1]-1 of `items` / `sims`. */
    readonly ptr: Int32Array,
    readonly items: Int32Array,
    readonly sims: Float32Array,
  ) {}

  static build(index: InteractionIndex, maxK: number): ItemNeighbours {
    if (!Number.isInteger(maxK) || maxK < 1)
      throw new RangeError(`maxK: expected a positive integer, got ${maxK}`);
    const n = index.items;
    const co = new Float64Array(n);
    const touched = new Int32Array(n);
    const ptr = new Int32Array(n + 1);
    const top = new TopK(maxK);
    const lists: { items: Int32Array; sims: Float32Array }[] = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      let m = 0;
      for (let k = index.colPtr[i]; k < index.colPtr[i + 1]; k++) {
        const u = index.colUsers[k];
        for (let e = index.rowPtr[u]; e < index.rowPtr[u + 1]; e++) {
          const j = index.rowItems[e];
          if (j === i) continue;
          if (co[j] === 0) touched[m++] = j;
          co[j]++;
        }
      }
      const ni = index.count(i);
      top.clear();
      for (let t = 0; t < m; t++) {
        const j = touched[t];
        top.push(j, co[j] / Math.sqrt(ni * index.count(j)));
        co[j] = 0;
      }
      const best = top.sorted();
      lists.push({ items: best.ids, sims: Float32Array.from(best.scores) });
      total += best.ids.length;
      ptr[i + 1] = total;
    }
    const items = new Int32Array(total);
    const sims = new Float32Array(total);
    lists.forEach((l, i) => {
      items.set(l.items, ptr[i]);
      sims.set(l.sims, ptr[i]);
    });
    return new ItemNeighbours(ptr, items, sims);
  }

  /** Adds sims of item `i`'s first `k` neighbours into `out[map[j]]` (entries with map[j] < 0 skipped). */
  accumulate(i: number, k: number, map: Int32Array, out: Float32Array | Float64Array, weight = 1): void {
    const end = Math.min(this.ptr[i] + k, this.ptr[i + 1]);
    for (let e = this.ptr[i]; e < end; e++) {
      const pos = map[this.items[e]];
      if (pos >= 0) out[pos] += weight * this.sims[e];
    }
  }
}
