import type { FeedbackKind, ItemCatalog, Task } from '../data/types';
import type { FitContext, RankOptions } from '../eval/method';
import { ndcgAtK } from '../eval/ranking-metrics';
import { throwIfAborted } from '../util/abort';

/** The ranking cut-off hyper-parameters are chosen by (NDCG@20, as P2 reports). */
export const VALIDATION_CUTOFF = 20;

/** Explicit data: a query rating is relevant in the top 30% of the declared scale (P2's default). */
export const RELEVANT_TOP_FRACTION = 0.3;

/** Tasks per `rank` call while scoring validation, to bound the score arrays held at once. */
const CHUNK = 256;

/** Anything that ranks a task's candidates as EvalMethod.rank does. */
export interface Ranker {
  rank(
    tasks: readonly Task[],
    candidates: readonly string[],
    items: ItemCatalog,
    options?: RankOptions,
  ): Promise<Float32Array[]>;
}

/** The lowest relevant value: implicit interactions are all relevant; explicit ratings from the top 30% of the scale. */
export function relevanceThreshold(kind: FeedbackKind, scale: readonly [number, number]): number {
  if (kind === 'implicit') return -Infinity;
  return scale[1] - RELEVANT_TOP_FRACTION * (scale[1] - scale[0]);
}

/** The warm items (every item in the training interactions), sorted by id: the validation candidates. */
export function warmItemIds(train: readonly Task[]): string[] {
  const ids = new Set<string>();
  for (const t of train) {
    for (const r of t.support) ids.add(r.itemId);
    for (const r of t.query) ids.add(r.itemId);
  }
  return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Mean NDCG@20 over the validation tasks of a full-catalog ranking of the warm items (each task's
 * support items left out, its relevant query items the targets): the number every ranking
 * hyper-parameter is chosen by. Uses `ctx.validation` only (warm users held out from training),
 * never a cold scenario. Tasks without a relevant query item among the candidates are skipped;
 * NaN when none is left.
 */
export async function validationRankingScore(
  method: Ranker,
  ctx: Pick<FitContext, 'train' | 'validation' | 'items' | 'kind' | 'scale' | 'signal'>,
  candidates: readonly string[] = warmItemIds(ctx.train),
): Promise<number> {
  const position = new Map(candidates.map((id, i) => [id, i]));
  const threshold = relevanceThreshold(ctx.kind, ctx.scale);
  let sum = 0;
  let n = 0;
  for (let start = 0; start < ctx.validation.length; start += CHUNK) {
    throwIfAborted(ctx.signal);
    const chunk = ctx.validation.slice(start, start + CHUNK);
    const scores = await method.rank(chunk, candidates, ctx.items, { signal: ctx.signal });
    chunk.forEach((task, t) => {
      const excluded = new Set<number>();
      for (const r of task.support) {
        const at = position.get(r.itemId);
        if (at !== undefined) excluded.add(at);
      }
      const relevant: number[] = [];
      for (const r of task.query) {
        const at = position.get(r.itemId);
        if (at !== undefined && r.value >= threshold) relevant.push(at);
      }
      const ndcg = ndcgAtK(scores[t], relevant, VALIDATION_CUTOFF, excluded);
      if (!Number.isNaN(ndcg)) {
        sum += ndcg;
        n++;
      }
    });
  }
  return n === 0 ? NaN : sum / n;
}
