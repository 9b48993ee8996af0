import type { AdaptOptions, RecommenderModel } from '@warmstart/core';
import { predictTasks } from '../learners/predict';
import { type ItemCatalog, scenarioMetrics, type Task } from '@warmstart/evaluation';

/** Query metrics on held-out users after adaptation (a type, so it is a Record<string, number>). */
export type ValidationMetrics = { mae: number; rmse: number; ndcg3: number; p5: number };

/** Validation metrics of a trained model on held-out users (what promotion compares). */
export async function validationMetrics(
  model: RecommenderModel,
  tasks: readonly Task[],
  items: ItemCatalog,
  adapt: AdaptOptions,
  signal?: AbortSignal,
): Promise<ValidationMetrics> {
  const m = scenarioMetrics(tasks, await predictTasks(model, tasks, items, adapt, 64, signal));
  return { mae: m.mae, rmse: m.rmse, ndcg3: m.ndcg3, p5: m.p5 };
}

/** Whether `candidate` beats `promoted` on `metric` by at least `minImprovement`. */
export function isBetter(
  metric: 'mae' | 'rmse' | 'ndcg3' | 'ndcg20',
  candidate: Partial<Record<string, number>>,
  promoted: Partial<Record<string, number>> | undefined,
  minImprovement: number,
): boolean {
  const current = promoted?.[metric];
  if (current === undefined || !Number.isFinite(current)) return true;
  const value = candidate[metric] ?? NaN;
  const gain = metric === 'ndcg3' || metric === 'ndcg20' ? value - current : current - value;
  return gain > minImprovement;
}
