import {
  buildItemNeighbours,
  type ItemNeighbours,
  rankingModel,
  setNeighbourhood,
  type AdaptOptions,
  type RecommenderModel,
} from '@warmstart/core';
import type { FitContext, Task } from '@warmstart/evaluation';
import { rankTasks } from './rank-tasks';
import { stageProgress } from './stage-progress';
import { smallAndFullSupportNdcg20 } from './validation-score';

/** `train.neighbourhood`: choose the item neighbourhood's weight on validation users, or none. */
export type NeighbourhoodSetting = 'auto' | 'off';

/**
 * Weights of the neighbourhood term tried (core neighbours/neighbourhood.ts; network logits per
 * unit of summed cosine similarity), 0 first: the network alone competes and wins ties.
 */
export const NEIGHBOURHOOD_WEIGHTS: readonly number[] = [0, 0.1, 0.2, 0.5, 1, 2, 5, 10];

/**
 * Neighbours kept per item: item-kNN's best neighbourhood on the data at hand was 100-400;
 * 200 bounds the lists at 1.6 KB per item (160 MB for a 100k-item catalog).
 */
export const NEIGHBOURHOOD_SIZE = 200;

/** What {@link chooseNeighbourhood} did: the weight kept (0: none attached) and every weight's score. */
export interface NeighbourhoodChoice {
  weight: number;
  /** Validation NDCG@20 averaged over full support and the first 1 and 3 interactions, by weight. */
  scores: Record<string, number>;
  /** Neighbour entries kept over all items (0 when none is attached). */
  entries: number;
}

/**
 * Attaches an item neighbourhood to `model`'s ranking model (its ranker, or the model itself
 * when it ranks with its own raw logits) with the weight that ranks the warm validation users best,
 * by the implicit objective (full support and the first 1 and 3 interactions, validation-score.ts).
 * The neighbours are item-kNN's (cosine of the items' user columns over the training tasks, support
 * and query, every rating an interaction), indexed by the model's item ID rows. Weight 0 detaches
 * it. Null when the setting is `off`, there are no validation users, or the ranking model cannot
 * carry one (no raw ranking logits or no item IDs).
 */
export async function chooseNeighbourhood(
  model: RecommenderModel,
  setting: NeighbourhoodSetting,
  ctx: Pick<FitContext, 'train' | 'validation' | 'items' | 'kind' | 'scale' | 'signal' | 'onProgress'>,
  adaptOptions: AdaptOptions,
): Promise<NeighbourhoodChoice | null> {
  const ranking = rankingModel(model);
  if (setting === 'off' || ctx.validation.length === 0) return null;
  if (!ranking.rankingScores || ranking.itemIdIndex.size === 0) return null;
  const tick = stageProgress(ctx, 'item neighbourhood', NEIGHBOURHOOD_WEIGHTS.length + 1);
  const neighbours = modelNeighbours(ranking, ctx.train);
  tick();
  const ranker = {
    rank: (tasks: readonly Task[], candidates: readonly string[]) =>
      rankTasks(model, tasks, candidates, ctx.items, adaptOptions, ctx.signal),
  };
  const scores: Record<string, number> = {};
  let best = { weight: 0, score: -Infinity };
  try {
    for (const weight of NEIGHBOURHOOD_WEIGHTS) {
      setNeighbourhood(ranking, weight > 0 ? { neighbours, weight } : null);
      const score = await smallAndFullSupportNdcg20(ranker, ctx);
      scores[String(weight)] = score;
      if (score > best.score) best = { weight, score };
      tick();
    }
  } finally {
    setNeighbourhood(ranking, best.weight > 0 ? { neighbours, weight: best.weight } : null);
  }
  return { weight: best.weight, scores, entries: best.weight > 0 ? neighbours.entries : 0 };
}

/** Item-kNN neighbours of the training tasks' interactions (support and query), by `model`'s item ID rows. */
export function modelNeighbours(model: RecommenderModel, train: readonly Task[]): ItemNeighbours {
  return buildItemNeighbours(
    model,
    train.flatMap((t) => [...t.support, ...t.query].map((r) => ({ userId: t.user.id, itemId: r.itemId }))),
    NEIGHBOURHOOD_SIZE,
  );
}
