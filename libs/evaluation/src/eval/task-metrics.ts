import type { Task } from '../data/types';
import { ndcgAtK, precisionAtK } from '@warmstart/core';

/** P1: an item is relevant for P@5 when its true rating is >= 4. */
const RELEVANT_RATING = 4;

export interface ScenarioMetrics {
  mae: number;
  rmse: number;
  ndcg3: number;
  p5: number;
  tasks: number;
}

/**
 * P1 metrics over a scenario's tasks: MAE and RMSE over all query predictions, nDCG@3 and P@5 per
 * task (its query items ranked by prediction), averaged over tasks. P@5's relevance threshold is
 * P1's 4 unless given (P2: the top share of the declared scale).
 */
export function scenarioMetrics(
  tasks: readonly Task[],
  predictions: readonly ArrayLike<number>[],
  relevantRating = RELEVANT_RATING,
): ScenarioMetrics {
  if (tasks.length !== predictions.length) throw new RangeError('one prediction array per task is required');
  let abs = 0;
  let sq = 0;
  let n = 0;
  let ndcg = 0;
  let p5 = 0;
  tasks.forEach((task, t) => {
    const pred = predictions[t];
    const actual = task.query.map((r) => r.value);
    if (pred.length !== actual.length)
      throw new RangeError(`task ${t}: ${pred.length} predictions for ${actual.length} queries`);
    for (let i = 0; i < actual.length; i++) {
      abs += Math.abs(pred[i] - actual[i]);
      sq += (pred[i] - actual[i]) ** 2;
      n++;
    }
    ndcg += ndcgAtK(pred, actual, 3);
    p5 += precisionAtK(pred, actual, 5, relevantRating);
  });
  if (tasks.length === 0) return { mae: NaN, rmse: NaN, ndcg3: NaN, p5: NaN, tasks: 0 };
  return {
    mae: abs / n,
    rmse: Math.sqrt(sq / n),
    ndcg3: ndcg / tasks.length,
    p5: p5 / tasks.length,
    tasks: tasks.length,
  };
}
