import { TopK } from './top-k';

/**
 * A sparse user x item interaction matrix in both orientations (CSR by user, CSC by item), the
 * input of {@link ItemNeighbours.build}. Row `u` holds items rowItems[rowPtr[u] .. rowPtr[u+1]-1],
 * column `i` users colUsers[colPtr[i] .. colPtr[i+1]-1]; an item appears at most once per user.
 */
export interface CoOccurrenceSource {
  readonly rowPtr: Int32Array;
  readonly rowItems: Int32Array;
  readonly colPtr: Int32Array;
  readonly colUsers: Int32Array;
}

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

  /** Items indexed (0 .. size-1). */
  get size(): number {
    return this.ptr.length - 1;
  }

  /** Neighbour entries over all items. */
  get entries(): number {
    return this.items.length;
  }

  static build(source: CoOccurrenceSource, maxK: number): ItemNeighbours {
    if (!Number.isInteger(maxK) || maxK < 1)
      throw new RangeError(`maxK: expected a positive integer, got ${maxK}`);
    const n = source.colPtr.length - 1;
    const count = (i: number) => source.colPtr[i + 1] - source.colPtr[i];
    const co = new Float64Array(n);
    const touched = new Int32Array(n);
    const ptr = new Int32Array(n + 1);
    const top = new TopK(maxK);
    const lists: { items: Int32Array; sims: Float32Array }[] = [];
    let total = 0;
    for (let i = 0; i < n; i++) {
      let m = 0;
      for (let k = source.colPtr[i]; k < source.colPtr[i + 1]; k++) {
        const u = source.colUsers[k];
        for (let e = source.rowPtr[u]; e < source.rowPtr[u + 1]; e++) {
          const j = source.rowItems[e];
          if (j === i) continue;
          if (co[j] === 0) touched[m++] = j;
          co[j]++;
        }
      }
      const ni = count(i);
      top.clear();
      for (let t = 0; t < m; t++) {
        const j = touched[t];
        top.push(j, co[j] / Math.sqrt(ni * count(j)));
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

  /**
   * Checked arrays (e.g. read back from {@link toBytes}): `ptr` non-decreasing from 0 to the
   * entry count, every item in 0 .. size-1, every similarity finite. Throws a RangeError naming
   * the array otherwise.
   */
  static fromArrays(ptr: Int32Array, items: Int32Array, sims: Float32Array): ItemNeighbours {
    if (ptr.length < 1 || ptr[0] !== 0 || ptr[ptr.length - 1] !== items.length)
      throw new RangeError('neighbours.ptr must run from 0 to the number of entries');
    for (let i = 1; i < ptr.length; i++)
      if (ptr[i] < ptr[i - 1]) throw new RangeError('neighbours.ptr must be non-decreasing');
    if (sims.length !== items.length) throw new RangeError('neighbours.sims must hold one value per entry');
    const n = ptr.length - 1;
    for (const j of items)
      if (!(j >= 0 && j < n)) throw new RangeError(`neighbours.items must lie in 0..${n - 1}`);
    for (const s of sims) if (!Number.isFinite(s)) throw new RangeError('neighbours.sims must be finite');
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

  /** ptr, items and sims as one buffer (int32, int32, float32; host byte order, as weights.bin). */
  toBytes(): { bytes: Uint8Array; size: number; entries: number } {
    const out = new Uint8Array(4 * (this.ptr.length + 2 * this.items.length));
    out.set(new Uint8Array(this.ptr.buffer, this.ptr.byteOffset, this.ptr.byteLength), 0);
    out.set(
      new Uint8Array(this.items.buffer, this.items.byteOffset, this.items.byteLength),
      this.ptr.byteLength,
    );
    out.set(
      new Uint8Array(this.sims.buffer, this.sims.byteOffset, this.sims.byteLength),
      this.ptr.byteLength + this.items.byteLength,
    );
    return { bytes: out, size: this.size, entries: this.entries };
  }

  /** The inverse of {@link toBytes}, checked ({@link fromArrays}). */
  static fromBytes(bytes: Uint8Array, size: number, entries: number): ItemNeighbours {
    if (bytes.length !== 4 * (size + 1 + 2 * entries))
      throw new RangeError(`neighbours: expected ${4 * (size + 1 + 2 * entries)} bytes, got ${bytes.length}`);
    // A copy: the typed arrays need 4-byte alignment, which a file buffer's offset may not have.
    const own = bytes.slice().buffer;
    const ptr = new Int32Array(own, 0, size + 1);
    const items = new Int32Array(own, 4 * (size + 1), entries);
    const sims = new Float32Array(own, 4 * (size + 1 + entries), entries);
    return ItemNeighbours.fromArrays(ptr, items, sims);
  }
}
