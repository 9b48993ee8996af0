import type { AdaptSettings, RecommenderModel } from '@warmstart/core';
import { rankTasks } from './rank-tasks';
import { validationMaeOf } from './tune-adapt';
import {
  type FitContext,
  type Task,
  validationRankingScore,
  type ValidationSet,
} from '@warmstart/evaluation';

/**
 * Support sizes the objective scores besides the full support: each validation user's support cut
 * to its first k interactions or ratings, query unchanged (the new-user k-shot view of P1 and P2),
 * so that choices fit a new user's first interactions as well as a long history.
 */
export const VALIDATION_SHOTS: readonly number[] = [1, 3];

type ScoringContext = Pick<FitContext, 'train' | 'validation' | 'items' | 'kind' | 'scale' | 'signal'>;

/** A ranking of validation tasks' candidates, as the baselines' validation takes it. */
type TaskRanker = Parameters<typeof validationRankingScore>[0];

/** `tasks` with each support cut to its first `k` entries. */
function firstK(tasks: readonly Task[], k: number): Task[] {
  return tasks.map((t) => ({ ...t, support: t.support.slice(0, k) }));
}

/**
 * NDCG@20 of the validation users' full-catalog ranking at their full support (P2's ranking,
 * baselines/validation.ts): the figure the ranking baselines are compared on. The objective below
 * also averages in the first 1 and 3 interactions, which no baseline's figure does.
 */
export function fullSupportNdcg20(
  model: RecommenderModel,
  choice: AdaptSettings,
  ctx: ScoringContext,
): Promise<number> {
  return validationRankingScore(modelRanker(model, choice, ctx), ctx);
}

/** `model`'s ranking of validation tasks, each user adapted with `choice` (rank-tasks.ts). */
function modelRanker(model: RecommenderModel, choice: AdaptSettings, ctx: ScoringContext): TaskRanker {
  return {
    rank: (tasks, candidates) => rankTasks(model, tasks, candidates, ctx.items, choice, ctx.signal),
  };
}

/**
 * Mean NDCG@20 of `ranker` over the validation users at full support and cut to each of
 * {@link VALIDATION_SHOTS} (higher is better): the implicit objective's figure, for any ranker.
 */
export async function smallAndFullSupportNdcg20(ranker: TaskRanker, ctx: ScoringContext): Promise<number> {
  const views = [ctx.validation, ...VALIDATION_SHOTS.map((k) => firstK(ctx.validation, k))];
  let sum = 0;
  for (const validation of views) sum += await validationRankingScore(ranker, { ...ctx, validation });
  return sum / views.length;
}

/** `validation` with every support (the hidden-ID copies' too) cut to its first `k` ratings. */
function firstKOf(validation: ValidationSet, k: number): ValidationSet {
  const cold = validation.coldItems;
  return {
    tasks: firstK(validation.tasks, k),
    items: validation.items,
    ...(cold && { coldItems: { tasks: firstK(cold.tasks, k), items: cold.items } }),
  };
}

/**
 * What a network's choices (early stopping, adaptation settings, variants, the ALS start) minimise
 * on the warm validation users, averaged over the full support and each of
 * {@link VALIDATION_SHOTS}: explicit data the query MAE (as P1), implicit data minus the NDCG@20 of
 * full-catalog ranking over the warm items (P2's ranking, baselines/validation.ts).
 */
export function validationObjective(
  model: RecommenderModel,
  validation: ValidationSet,
  ctx: ScoringContext,
): (choice: AdaptSettings) => Promise<number> {
  if (ctx.kind !== 'implicit') {
    const views = [validation, ...VALIDATION_SHOTS.map((k) => firstKOf(validation, k))];
    return async (choice) => {
      let sum = 0;
      for (const v of views) sum += await validationMaeOf(model, v, choice, ctx.signal);
      return sum / views.length;
    };
  }
  return async (choice) => -(await smallAndFullSupportNdcg20(modelRanker(model, choice, ctx), ctx));
}
