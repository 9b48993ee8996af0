import type { ItemCatalog, Rating, Task } from '../data/types';
import { ContentRegression } from './content-regression';

/** Global mean + regularised item biases, with a content regression for items unseen in training. */
export class BiasModel {
  private constructor(
    readonly mean: number,
    private readonly biases: Map<string, number>,
    private readonly content: ContentRegression,
    private readonly items: ItemCatalog,
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
    return new BiasModel(mean, biases, ContentRegression.fit(examples, 5), items);
  }

  itemBias(itemId: string): number {
    return this.biases.get(itemId) ?? this.content.predict(this.items.get(itemId));
  }

  isKnown(itemId: string): boolean {
    return this.biases.has(itemId);
  }
}

export function trainingRatings(tasks: readonly Task[]): Rating[] {
  return tasks.flatMap((t) => [...t.support, ...t.query]);
}

export function clip(value: number, range: readonly [number, number]): number {
  return Math.min(range[1], Math.max(range[0], value));
}
