import type { AdaptSettings, RecommenderModel } from '@warmstart/core';
import { rankTasks } from './rank-tasks';
import { validationMaeOf } from './tune-adapt';
import { type FitContext, validationRankingScore, type ValidationSet } from '@warmstart/evaluation';

/**
 * Support sizes the implicit objective scores besides the full support: each validation user's
 * support cut to its first k interactions, query unchanged (P2's new-user k-shot view), so that
 * choices fit a new user's first interactions as well as a long history.
 */
export const VALIDATION_SHOTS: readonly number[] = [1, 3];

/**
 * What a network's choices (early stopping, adaptation settings, variants, the ALS start) minimise
 * on the warm validation users: explicit data the query MAE (as P1), implicit data minus the mean
 * NDCG@20 of full-catalog ranking over the warm items (P2's ranking, baselines/validation.ts) at
 * full support and at each of {@link VALIDATION_SHOTS}.
 */
/**
 * NDCG@20 of the validation users' full-catalog ranking at their full support (P2's ranking,
 * baselines/validation.ts): the figure the ranking baselines are compared on. The objective below
 * also averages in the first 1 and 3 interactions, which no baseline's figure does.
 */
export function fullSupportNdcg20(
  model: RecommenderModel,
  choice: AdaptSettings,
  ctx: Pick<FitContext, 'train' | 'validation' | 'items' | 'kind' | 'scale' | 'signal'>,
): Promise<number> {
  const ranker = {
    rank: (tasks: Parameters<typeof rankTasks>[1], candidates: readonly string[]) =>
      rankTasks(model, tasks, candidates, ctx.items, choice, ctx.signal),
  };
  return validationRankingScore(ranker, ctx);
}

/** A ranking of validation tasks' candidates, as the baselines' validation takes it. */
type TaskRanker = Parameters<typeof validationRankingScore>[0];

/**
 * Mean NDCG@20 of `ranker` over the validation users at full support and cut to each of
 * {@link VALIDATION_SHOTS} (higher is better): the implicit objective's figure, for any ranker.
 */
export async function smallAndFullSupportNdcg20(
  ranker: TaskRanker,
  ctx: Pick<FitContext, 'train' | 'validation' | 'items' | 'kind' | 'scale' | 'signal'>,
): Promise<number> {
  const views = [
    ctx.validation,
    ...VALIDATION_SHOTS.map((k) => ctx.validation.map((t) => ({ ...t, support: t.support.slice(0, k) }))),
  ];
  let sum = 0;
  for (const validation of views) sum += await validationRankingScore(ranker, { ...ctx, validation });
  return sum / views.length;
}

export function validationObjective(
  model: RecommenderModel,
  validation: ValidationSet,
  ctx: Pick<FitContext, 'train' | 'validation' | 'items' | 'kind' | 'scale' | 'signal'>,
): (choice: AdaptSettings) => Promise<number> {
  if (ctx.kind !== 'implicit') return (choice) => validationMaeOf(model, validation, choice, ctx.signal);
  return async (choice) => {
    const ranker = {
      rank: (tasks: Parameters<typeof rankTasks>[1], candidates: readonly string[]) =>
        rankTasks(model, tasks, candidates, ctx.items, choice, ctx.signal),
    };
    return -(await smallAndFullSupportNdcg20(ranker, ctx));
  };
}
