/**
 * The `k` best of a stream of (id, score) pairs: highest score first, ties to the lower id. A binary
 * min-heap of size k (root = worst kept), O(n log k), no allocation per pushed pair.
 */
export class TopK {
  private readonly ids: Int32Array;
  private readonly scores: Float64Array;
  private size = 0;

  constructor(readonly k: number) {
    this.ids = new Int32Array(k);
    this.scores = new Float64Array(k);
  }

  clear(): void {
    this.size = 0;
  }

  push(id: number, score: number): void {
    if (this.k === 0) return;
    if (this.size < this.k) {
      let at = this.size++;
      while (at > 0) {
        const parent = (at - 1) >> 1;
        if (!this.worse(id, score, this.ids[parent], this.scores[parent])) break;
        this.ids[at] = this.ids[parent];
        this.scores[at] = this.scores[parent];
        at = parent;
      }
      this.ids[at] = id;
      this.scores[at] = score;
      return;
    }
    if (!this.worse(this.ids[0], this.scores[0], id, score)) return;
    let at = 0;
    for (;;) {
      const l = 2 * at + 1;
      if (l >= this.size) break;
      const r = l + 1;
      const child =
        r < this.size && this.worse(this.ids[r], this.scores[r], this.ids[l], this.scores[l]) ? r : l;
      if (!this.worse(this.ids[child], this.scores[child], id, score)) break;
      this.ids[at] = this.ids[child];
      this.scores[at] = this.scores[child];
      at = child;
    }
    this.ids[at] = id;
    this.scores[at] = score;
  }

  /** The kept pairs, best first. */
  sorted(): { ids: Int32Array; scores: Float64Array } {
    const order = Array.from({ length: this.size }, (_, i) => i).sort((a, b) =>
      this.worse(this.ids[a], this.scores[a], this.ids[b], this.scores[b]) ? 1 : -1,
    );
    return {
      ids: Int32Array.from(order, (i) => this.ids[i]),
      scores: Float64Array.from(order, (i) => this.scores[i]),
    };
  }

  /** Whether (ia, sa) ranks below (ib, sb). */
  private worse(ia: number, sa: number, ib: number, sb: number): boolean {
    return sa < sb || (sa === sb && ia > ib);
  }
}
