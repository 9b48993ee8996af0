import type { ItemCatalog, RatingEvent } from '../data/types';
import type { ContentRidge } from './content-ridge';
import type { InteractionIndex } from './interaction-index';

/**
 * A factor model's item vectors for any item id: the trained row for a warm item; for an item
 * unseen in training, a fold-in from its item evidence when some of its evidence users are
 * training users, else the content regression's prediction when it has content, else zeros.
 * Vectors of unseen items are cached until the evidence changes (compared by reference).
 */
export class ItemVectors {
  private cache = new Map<string, Float32Array>();
  private evidenceRef?: readonly RatingEvent[];
  private evidenceUsers = new Map<string, { users: number[]; values: number[] }>();

  constructor(
    readonly dims: number,
    private readonly index: InteractionIndex,
    /** items x dims, row-major, aligned with `index`'s items. */
    private readonly trained: Float32Array,
    private readonly content: ContentRidge | undefined,
    private readonly items: ItemCatalog,
    /** Solves an unseen item's vector from its evidence (training user indices and values) and prior. */
    private readonly foldIn: (
      users: readonly number[],
      values: readonly number[],
      prior: Float64Array,
    ) => Float64Array,
  ) {}

  /** Sets the item evidence vectors are computed with (undefined or empty: none). */
  useEvidence(evidence: readonly RatingEvent[] | undefined): void {
    const ref = evidence && evidence.length > 0 ? evidence : undefined;
    if (ref === this.evidenceRef) return;
    this.evidenceRef = ref;
    this.cache = new Map();
    this.evidenceUsers = new Map();
    for (const e of ref ?? []) {
      if (this.index.itemIndex.has(e.itemId)) continue;
      const u = this.index.userIndex.get(e.userId);
      if (u === undefined) continue; // no vector for a user outside training
      const entry = this.evidenceUsers.get(e.itemId) ?? { users: [], values: [] };
      entry.users.push(u);
      entry.values.push(e.value);
      this.evidenceUsers.set(e.itemId, entry);
    }
  }

  /** Writes item `id`'s vector into `out` at row `row`. */
  write(id: string, out: Float32Array, row: number): void {
    const d = this.dims;
    const i = this.index.itemIndex.get(id);
    if (i !== undefined) {
      out.set(this.trained.subarray(i * d, (i + 1) * d), row * d);
      return;
    }
    let v = this.cache.get(id);
    if (!v) {
      const prior = new Float64Array(d);
      this.content?.predictInto(this.items.get(id), prior);
      const evidence = this.evidenceUsers.get(id);
      v = Float32Array.from(evidence ? this.foldIn(evidence.users, evidence.values, prior) : prior);
      this.cache.set(id, v);
    }
    out.set(v, row * d);
  }

  /** The vectors of `ids`, row-major. */
  matrix(ids: readonly string[]): Float32Array {
    const out = new Float32Array(ids.length * this.dims);
    ids.forEach((id, row) => this.write(id, out, row));
    return out;
  }
}
