/**
 * A rating model's ranker: rating regressions predict how much a user will like an item they
 * rate, not which items they will rate, so they order a whole catalog poorly (on MovieLens-100K
 * below plain popularity). A rating model can carry an implicit model over the same items
 * (`model.ranker`, e.g. a catalog fold-in over the interactions) that orders candidates, while
 * the rating model still predicts the ratings. Both adapt on the same support: the ranker sees
 * every rated item as an interaction. New items' first ratings (their evidence) reach the ranker
 * as interactions too, every one positive or, with `model.rankerEvidenceMin`, the liked ones
 * positive and the others negative: from the ranker's view an item rated by 20 users who disliked
 * it is otherwise as popular as one 20 users loved, and among new items with the same number of
 * ratings nothing else tells them apart.
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

/**
 * Sets the lowest rating of a new item's evidence that the ranker of `model` takes as a positive
 * interaction, lower ones negative (see {@link rankerEvidence}); null: every rating positive.
 * `model` must have a ranker.
 */
export function setRankerEvidenceMin(model: RecommenderModel, min: number | null): void {
  if (min !== null) {
    if (!model.ranker) throw new ValidationError('model', 'has no ranker');
    if (!Number.isFinite(min))
      throw new ValidationError('rankerEvidenceMin', 'must be a finite number or null');
  }
  model.rankerEvidenceMin = min;
}

/**
 * New items' evidence (their first ratings, by users) as the ranker of `model` takes it: each
 * rating an interaction of value 1, or, with a minimum `min` (default `model.rankerEvidenceMin`;
 * null: none), 1 for the ratings at or above it and 0 for the others: a user who rated an item
 * low says it is not for them, a negative the warm-up fits (the fold-in reads positives only).
 */
export function rankerEvidence<T extends { value: number }>(
  model: RecommenderModel,
  evidence: readonly T[],
  min: number | null = model.rankerEvidenceMin,
): T[] {
  return evidence.map((r) => ({ ...r, value: min === null || r.value >= min ? 1 : 0 }));
}
