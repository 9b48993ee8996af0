import type { ItemCatalog, RatingEvent } from '../data/types';
import { ContentRegression } from './content-regression';
import type { InteractionIndex } from './interaction-index';

/**
 * The implicit counterpart of an item bias: log(1 + users who interacted) per item, with a content
 * regression of it for items unseen in training (items with no content get the regression's
 * intercept, i.e. about the mean).
 */
export class LogPopularity {
  private constructor(
    private readonly scores: Map<string, number>,
    private readonly content: ContentRegression,
    private readonly items: ItemCatalog,
  ) {}

  static fit(index: InteractionIndex, items: ItemCatalog, ridge = 5): LogPopularity {
    const scores = new Map<string, number>();
    const examples = [];
    for (let i = 0; i < index.items; i++) {
      const id = index.itemIds[i];
      const target = Math.log1p(index.count(i));
      scores.set(id, target);
      const item = items.get(id);
      if (item) examples.push({ item, target, weight: 1 });
    }
    return new LogPopularity(scores, ContentRegression.fit(examples, ridge), items);
  }

  score(itemId: string): number {
    return this.scores.get(itemId) ?? this.content.predict(this.items.get(itemId));
  }

  /**
   * With item evidence (P2's new-item k-shot curve), an item unseen in training scores its content
   * prediction plus log(1 + its evidence users): more evidence ranks higher, content orders ties.
   */
  withEvidence(evidence: readonly RatingEvent[] | undefined): LogPopularity {
    if (!evidence || evidence.length === 0) return this;
    const users = new Map<string, Set<string>>();
    for (const e of evidence) {
      if (this.scores.has(e.itemId)) continue;
      const set = users.get(e.itemId) ?? new Set<string>();
      set.add(e.userId);
      users.set(e.itemId, set);
    }
    const scores = new Map(this.scores);
    for (const [itemId, set] of users)
      scores.set(itemId, this.content.predict(this.items.get(itemId)) + Math.log1p(set.size));
    return new LogPopularity(scores, this.content, this.items);
  }
}
