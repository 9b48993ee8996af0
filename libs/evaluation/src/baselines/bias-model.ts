import type { ItemCatalog, Rating, RatingEvent, Task } from '../data/types';
import { ContentRegression } from './content-regression';

/** Global mean + regularised item biases, with a content regression for items unseen in training. */
export class BiasModel {
  private constructor(
    readonly mean: number,
    private readonly biases: Map<string, number>,
    private readonly content: ContentRegression,
    private readonly items: ItemCatalog,
    private readonly lambda: number,
  ) {}

  /** `lambda` shrinks an item's bias toward 0 by acting as that many ratings at the mean. */
  static fit(ratings: readonly Rating[], items: ItemCatalog, lambda: number): BiasModel {
    if (ratings.length === 0) throw new RangeError('no training ratings');
    const mean = ratings.reduce((s, r) => s + r.value, 0) / ratings.length;
    const sums = new Map<string, { sum: number; n: number }>();
    for (const r of ratings) {
      const s = sums.get(r.itemId) ?? { sum: 0, n: 0 };
      s.sum += r.value - mean;
      s.n++;
      sums.set(r.itemId, s);
    }
    const biases = new Map<string, number>();
    const examples = [];
    for (const [itemId, { sum, n }] of sums) {
      const bias = sum / (n + lambda);
      biases.set(itemId, bias);
      const item = items.get(itemId);
      // Raw (unshrunk) bias as the target, weighted by how much evidence it rests on.
      if (item) examples.push({ item, target: sum / n, weight: Math.min(n, 50) });
    }
    return new BiasModel(mean, biases, ContentRegression.fit(examples, 5), items, lambda);
  }

  /**
   * This model with item evidence (P2's new-item k-shot curve): an item unseen in training but
   * rated in `evidence` gets the bias sum(r - mean) / (n + lambda) shrunk toward its content
   * prediction (instead of toward 0); items seen in training keep their bias.
   */
  withEvidence(evidence: readonly RatingEvent[] | undefined): BiasModel {
    if (!evidence || evidence.length === 0) return this;
    const sums = new Map<string, { sum: number; n: number }>();
    for (const r of evidence) {
      if (this.biases.has(r.itemId)) continue;
      const s = sums.get(r.itemId) ?? { sum: 0, n: 0 };
      s.sum += r.value - this.mean;
      s.n++;
      sums.set(r.itemId, s);
    }
    const biases = new Map(this.biases);
    for (const [itemId, { sum, n }] of sums) {
      const prior = this.content.predict(this.items.get(itemId));
      biases.set(itemId, (sum + this.lambda * prior) / (n + this.lambda));
    }
    return new BiasModel(this.mean, biases, this.content, this.items, this.lambda);
  }

  itemBias(itemId: string): number {
    return this.biases.get(itemId) ?? this.content.predict(this.items.get(itemId));
  }

  isKnown(itemId: string): boolean {
    return this.biases.has(itemId);
  }
}

/** A user's bias from the support set alone: its mean residual over `model`, shrunk by `lambdaUser`. */
export function userBias(model: BiasModel, lambdaUser: number, support: readonly Rating[]): number {
  let residual = 0;
  for (const r of support) residual += r.value - model.mean - model.itemBias(r.itemId);
  return residual / (support.length + lambdaUser || 1);
}

export function trainingRatings(tasks: readonly Task[]): Rating[] {
  return tasks.flatMap((t) => [...t.support, ...t.query]);
}

export function clip(value: number, range: readonly [number, number]): number {
  return Math.min(range[1], Math.max(range[0], value));
}
