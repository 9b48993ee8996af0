import type { ItemRecord } from '../data/types';
import { contentKeys, contentVocabulary } from './content-features';
import { choleskyFactorInPlace, choleskySubstitute } from './dense';

/**
 * Multi-output ridge regression of a per-item vector (an item's factors, with or without its bias)
 * on its categorical content (content-features.ts columns): how the factor models give an item
 * never seen in training a starting vector. Targets are centred on their weighted mean (the
 * intercept, not penalised); `ridge` penalises the content weights.
 */
export class ContentRidge {
  private constructor(
    readonly dims: number,
    private readonly columns: Map<string, number>,
    /** columns x dims, row-major. */
    private readonly weights: Float64Array,
    private readonly mean: Float64Array,
  ) {}

  static fit(
    examples: readonly { item: ItemRecord; target: ArrayLike<number>; weight: number }[],
    dims: number,
    ridge: number,
  ): ContentRidge {
    const withContent = examples.filter((e) => e.weight > 0 && contentKeys(e.item).length > 0);
    const mean = new Float64Array(dims);
    let total = 0;
    for (const { target, weight } of withContent) {
      total += weight;
      for (let k = 0; k < dims; k++) mean[k] += weight * target[k];
    }
    if (total === 0) return new ContentRidge(dims, new Map(), new Float64Array(0), mean);
    for (let k = 0; k < dims; k++) mean[k] /= total;
    const columns = contentVocabulary(withContent.map((e) => e.item));
    const d = columns.size;
    const xtx = new Float64Array(d * d);
    const xty = new Float64Array(d * dims);
    for (const { item, target, weight } of withContent) {
      const row = sparseRow(item, columns);
      for (const [i, xi] of row) {
        for (const [j, xj] of row) xtx[i * d + j] += weight * xi * xj;
        for (let k = 0; k < dims; k++) xty[i * dims + k] += weight * xi * (target[k] - mean[k]);
      }
    }
    for (let i = 0; i < d; i++) xtx[i * d + i] += ridge;
    choleskyFactorInPlace(xtx, d);
    const weights = new Float64Array(d * dims);
    const rhs = new Float64Array(d);
    for (let k = 0; k < dims; k++) {
      for (let i = 0; i < d; i++) rhs[i] = xty[i * dims + k];
      choleskySubstitute(xtx, rhs, d);
      for (let i = 0; i < d; i++) weights[i * dims + k] = rhs[i];
    }
    return new ContentRidge(dims, columns, weights, mean);
  }

  /**
   * Writes the prediction for `item` into `out` from `offset` and returns true; returns false (and
   * writes nothing) when the item has no content to predict from.
   */
  predictInto(item: ItemRecord | undefined, out: Float32Array | Float64Array, offset = 0): boolean {
    if (!item) return false;
    const keys = contentKeys(item);
    if (keys.length === 0) return false;
    for (let k = 0; k < this.dims; k++) out[offset + k] = this.mean[k];
    for (const { key, value } of keys) {
      const col = this.columns.get(key);
      if (col === undefined) continue; // a value never seen in training carries nothing
      for (let k = 0; k < this.dims; k++) out[offset + k] += value * this.weights[col * this.dims + k];
    }
    return true;
  }
}

function sparseRow(item: ItemRecord, columns: ReadonlyMap<string, number>): Map<number, number> {
  const row = new Map<number, number>();
  for (const { key, value } of contentKeys(item)) {
    const col = columns.get(key);
    if (col !== undefined) row.set(col, (row.get(col) ?? 0) + value);
  }
  return row;
}
