import type { ItemRecord } from '../data/types';
import { contentKeys, contentVocabulary } from './content-features';
import { solveLinear } from './linear-solve';

/**
 * Ridge regression of a per-item target (the item bias) on the item's categorical content: one
 * indicator per (field, value), multi-valued fields (genres) spread 1/n over their values. This is
 * how the item-bias baselines score items never seen in training.
 */
export class ContentRegression {
  private constructor(
    private readonly columns: Map<string, number>,
    private readonly weights: number[],
    private readonly intercept: number,
  ) {}

  static fit(
    examples: readonly { item: ItemRecord; target: number; weight: number }[],
    ridge = 1,
  ): ContentRegression {
    const columns = contentVocabulary(examples.map((e) => e.item));
    const d = columns.size + 1; // + intercept (last column, not regularised)
    const xtx = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    const xty = new Array<number>(d).fill(0);
    for (const { item, target, weight } of examples) {
      const x = new Array<number>(d).fill(0);
      for (const { key, value } of contentKeys(item)) {
        const col = columns.get(key);
        if (col !== undefined) x[col] += value;
      }
      x[d - 1] = 1;
      for (let i = 0; i < d; i++) {
        if (x[i] === 0) continue;
        xty[i] += weight * x[i] * target;
        for (let j = 0; j < d; j++) xtx[i][j] += weight * x[i] * x[j];
      }
    }
    for (let i = 0; i < d - 1; i++) xtx[i][i] += ridge;
    if (xtx[d - 1][d - 1] === 0) return new ContentRegression(new Map(), [], 0);
    const w = solveLinear(xtx, xty);
    return new ContentRegression(columns, w.slice(0, d - 1), w[d - 1]);
  }

  predict(item: ItemRecord | undefined): number {
    let y = this.intercept;
    if (!item) return y;
    for (const { key, value } of contentKeys(item)) {
      const col = this.columns.get(key);
      if (col !== undefined) y += this.weights[col] * value; // unseen values contribute nothing
    }
    return y;
  }
}
