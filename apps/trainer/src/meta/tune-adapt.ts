import type { RecommenderModel } from '@warmstart/core';
import type { ItemCatalog, Task } from '../data/types';
import { pickBest, validationMae } from '../baselines/tuning';
import { predictTasks } from './predict';

export interface AdaptChoice {
  steps: number;
  lr: number;
}

/** Adaptation grid of the meta-learners (added to the configured `adapt`), picked on warm validation users. */
export const LEARNER_STEP_GRID = [1, 2, 5, 10];
export const LEARNER_LR_GRID = [0.01, 0.05, 0.1, 0.2];

/**
 * The adaptation settings with the lowest query MAE on the warm validation users (never a cold
 * scenario). The first candidate wins ties; without validation tasks it is returned as is.
 */
export async function tuneAdapt(
  model: RecommenderModel,
  validation: readonly Task[],
  items: ItemCatalog,
  candidates: readonly AdaptChoice[],
  signal?: AbortSignal,
): Promise<{ choice: AdaptChoice; mae: number }> {
  if (validation.length === 0) return { choice: candidates[0], mae: NaN };
  const scored: { choice: AdaptChoice; mae: number }[] = [];
  for (const choice of candidates) {
    scored.push({ choice, mae: await validationMaeOf(model, validation, items, choice, signal) });
  }
  return pickBest(scored, (s) => s.mae);
}

/** Query MAE on the validation tasks after adapting with `choice`. */
export async function validationMaeOf(
  model: RecommenderModel,
  validation: readonly Task[],
  items: ItemCatalog,
  choice: AdaptChoice,
  signal?: AbortSignal,
): Promise<number> {
  const preds = await predictTasks(model, validation, items, choice, 64, signal);
  const byTask = new Map(validation.map((task, i) => [task, preds[i]]));
  return validationMae(validation, (task) => byTask.get(task)!);
}

/** The configured settings first, then the grid (without repeating the configured one). */
export function learnerAdaptCandidates(configured: AdaptChoice): AdaptChoice[] {
  const grid = LEARNER_STEP_GRID.flatMap((steps) => LEARNER_LR_GRID.map((lr) => ({ steps, lr })));
  return [configured, ...grid.filter((c) => c.steps !== configured.steps || c.lr !== configured.lr)];
}
