import type { AdaptSettings, RecommenderModel } from '@warmstart/core';
import { predictTasks } from './predict';
import {
  type ItemCatalog,
  pickBest,
  type Task,
  type ValidationSet,
  validationMae,
} from '@warmstart/evaluation';

/** Adaptation grid of the meta-learners (added to the configured `adapt`), picked on warm validation users. */
export const LEARNER_STEP_GRID = [1, 2, 5, 10];
export const LEARNER_LR_GRID = [0.01, 0.05, 0.1, 0.2];
/** Ridge penalties tried for head-only models (closed-form head, core AdaptOptions.ridge). */
export const LEARNER_RIDGE_GRID = [1, 3, 10, 30, 100];

/**
 * The adaptation settings with the lowest validation score (by default {@link validationMaeOf};
 * P2's implicit data passes minus NDCG@20; never a cold scenario). The first candidate wins ties;
 * without validation tasks it is returned as is.
 */
export async function tuneAdapt(
  model: RecommenderModel,
  validation: ValidationSet,
  candidates: readonly AdaptSettings[],
  signal?: AbortSignal,
  score: (choice: AdaptSettings) => Promise<number> = (choice) =>
    validationMaeOf(model, validation, choice, signal),
): Promise<{ choice: AdaptSettings; mae: number }> {
  if (validation.tasks.length === 0) return { choice: candidates[0], mae: NaN };
  const scored: { choice: AdaptSettings; mae: number }[] = [];
  for (const choice of candidates) scored.push({ choice, mae: await score(choice) });
  return pickBest(scored, (s) => s.mae);
}

/**
 * Query MAE on the validation tasks after adapting with `choice`; with hidden-ID copies, the mean
 * of the MAE with and without item IDs, so choices are good for warm and for new items alike.
 */
export async function validationMaeOf(
  model: RecommenderModel,
  validation: ValidationSet,
  choice: AdaptSettings,
  signal?: AbortSignal,
): Promise<number> {
  const maeOf = async (tasks: readonly Task[], items: ItemCatalog) => {
    const preds = await predictTasks(model, tasks, items, choice, 64, signal);
    const byTask = new Map(tasks.map((task, i) => [task, preds[i]]));
    return validationMae(tasks, (task) => byTask.get(task)!);
  };
  const warm = await maeOf(validation.tasks, validation.items);
  if (!validation.coldItems) return warm;
  return (warm + (await maeOf(validation.coldItems.tasks, validation.coldItems.items))) / 2;
}

/**
 * The configured settings first, then the gradient-step grid and, for head-only models
 * (`ridge`), the ridge penalties, without repeating the configured one.
 */
export function learnerAdaptCandidates(configured: AdaptSettings, ridge = false): AdaptSettings[] {
  const steps = LEARNER_STEP_GRID.flatMap((s) =>
    LEARNER_LR_GRID.map((lr) => ({ steps: s, lr, ridge: null })),
  );
  const ridges = ridge
    ? LEARNER_RIDGE_GRID.map((r) => ({ steps: configured.steps, lr: configured.lr, ridge: r }))
    : [];
  const same = (c: AdaptSettings) =>
    c.ridge === configured.ridge &&
    (c.ridge !== null || (c.steps === configured.steps && c.lr === configured.lr));
  return [configured, ...[...steps, ...ridges].filter((c) => !same(c))];
}
