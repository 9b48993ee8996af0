import type { FeedbackKind, ItemCatalog, Task } from '../data/types';
import type { EvalMethod, FitContext, FitResult, RankOptions } from '../eval/method';
import { trainingRatings } from './bias-model';

/**
 * The non-personalised ranker: every candidate is scored by how many training users interacted
 * with it, plus its interactions in the item evidence (P2's new-item k-shot curve), whatever the
 * task's support. On explicit data its rating prediction is the global mean; implicit data has no
 * rating to predict (`rank` only).
 */
export class Popularity implements EvalMethod {
  static readonly kinds: readonly FeedbackKind[] = ['implicit', 'explicit'];
  readonly name: string = 'popularity';
  private counts?: Map<string, number>;
  private kind: FeedbackKind = 'explicit';
  protected mean = NaN;

  async fit(ctx: FitContext): Promise<FitResult> {
    const ratings = trainingRatings(ctx.train);
    if (ratings.length === 0) throw new RangeError(`${this.name}: no training ratings`);
    this.kind = ctx.kind;
    this.mean = ratings.reduce((s, r) => s + r.value, 0) / ratings.length;
    this.counts = userCounts(
      ctx.train.map((t) => ({ userId: t.user.id, items: [...t.support, ...t.query] })),
    );
    return { lossHistory: [], backend: 'js' };
  }

  async predict(tasks: readonly Task[], _items: ItemCatalog): Promise<Float32Array[]> {
    if (Number.isNaN(this.mean)) throw new Error(`${this.name}: predict before fit`);
    if (this.kind === 'implicit')
      throw new Error(`${this.name}: implicit feedback has no ratings to predict; P2 ranks it (rank)`);
    return tasks.map((t) => new Float32Array(t.query.length).fill(this.mean));
  }

  async rank(
    tasks: readonly Task[],
    candidates: readonly string[],
    _items: ItemCatalog,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    const counts = this.counts;
    if (!counts) throw new Error(`${this.name}: rank before fit`);
    const evidence = options?.itemEvidence?.length
      ? userCounts(groupByUser(options.itemEvidence))
      : new Map<string, number>();
    const scores = Float32Array.from(candidates, (id) => (counts.get(id) ?? 0) + (evidence.get(id) ?? 0));
    return tasks.map(() => scores.slice());
  }
}

/** How many distinct users interacted with each item. */
function userCounts(
  rows: readonly { userId: string; items: readonly { itemId: string }[] }[],
): Map<string, number> {
  const seen = new Set<string>();
  const counts = new Map<string, number>();
  for (const { userId, items } of rows) {
    for (const { itemId } of items) {
      const key = `${userId}\u0000${itemId}`;
      if (seen.has(key)) continue;
      seen.add(key);
      counts.set(itemId, (counts.get(itemId) ?? 0) + 1);
    }
  }
  return counts;
}

function groupByUser(events: readonly { userId: string; itemId: string }[]) {
  return events.map((e) => ({ userId: e.userId, items: [e] }));
}
