/**
 * A rating model's ranker: rating regressions predict how much a user will like an item they
 * rate, not which items they will rate, so they order a whole catalog poorly (on MovieLens-100K
 * below plain popularity). A rating model can carry an implicit model over the same items
 * (`model.ranker`, e.g. a catalog fold-in over the interactions) that orders candidates, while
 * the rating model still predicts the ratings. Both adapt on the same support: the ranker sees
 * every rated item as an interaction.
 */
import { ValidationError } from '../errors';
import type { Rating } from '../types';
import type { RecommenderModel } from './model';

/**
 * Attaches `ranker` to `model` (which then owns it: disposing the model disposes the ranker, and
 * saveModel / loadModel keep them together). `model` must be a rating model without a ranker,
 * `ranker` an implicit model without one.
 */
export function attachRanker(model: RecommenderModel, ranker: RecommenderModel): void {
  if (model.config.task !== 'rating') throw new ValidationError('model', 'a ranker is for rating models');
  if (model.ranker) throw new ValidationError('model', 'already has a ranker');
  if (ranker === model) throw new ValidationError('ranker', 'must be another model');
  if (ranker.config.task !== 'implicit') throw new ValidationError('ranker', 'must be an implicit model');
  if (ranker.ranker) throw new ValidationError('ranker', 'must not have a ranker itself');
  model.ranker = ranker;
}

/** The model that orders candidates: the ranker when `model` has one, else `model` itself. */
export function rankingModel(model: RecommenderModel): RecommenderModel {
  return model.ranker ?? model;
}

/**
 * A support set as {@link rankingModel} sees it: for a model with a ranker every rated item is an
 * interaction (value 1), otherwise the support unchanged.
 */
export function rankingSupport<T extends Rating>(model: RecommenderModel, support: readonly T[]): T[] {
  return model.ranker ? support.map((r) => ({ ...r, value: 1 })) : [...support];
}
