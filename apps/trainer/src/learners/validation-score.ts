import type { AdaptSettings, RecommenderModel } from '@warmstart/core';
import { validationRankingScore } from '../baselines/validation';
import type { FitContext } from '../eval/method';
import { rankTasks } from './rank-tasks';
import { validationMaeOf, type ValidationSet } from './tune-adapt';

/**
 * What a network's choices (early stopping, adaptation settings, variants) minimise on the warm
 * validation users: explicit data the query MAE (as P1), implicit data minus NDCG@20 of
 * full-catalog ranking over the warm items (P2's ranking, baselines/validation.ts).
 */
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
    return -(await validationRankingScore(ranker, ctx));
  };
}
