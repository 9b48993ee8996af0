import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from '../errors';
import { PRIOR_NOISE, PRIOR_PRECISION } from '../model/bayes-head';
import { FOLD_IN_CATALOG, FOLD_IN_LIFT, type FoldInStart } from '../model/catalog-fold-in';
import type { RecommenderModel } from '../model/model';

/**
 * Sets the starting values of a catalog fold-in model's weights (config.catalogFoldIn), e.g.
 * alsFoldInStart's, before meta-training refines them: the catalog weight, the lift, a uniform
 * prior precision at unit noise, and the head's prior mean weights (`out.w`) at zero, as ALS's
 * fold-in has no prior direction: with no support every item scores its bias, and the randomly
 * initialised trunk units add no noise to the scores of items whose features carry little signal
 * (new items, whose ID rows come from content). Every value must be finite and > 0.
 */
export function initCatalogFoldIn(model: RecommenderModel, start: FoldInStart): void {
  if (!model.layout.foldIn)
    throw new ValidationError('model', 'has no catalog fold-in (config.catalogFoldIn)');
  for (const [key, v] of Object.entries(start))
    if (!(Number.isFinite(v) && v > 0))
      throw new ValidationError(`start.${key}`, 'must be a finite number > 0');
  const set = (name: string, value: number) => {
    const p = model.params[name];
    p.assign(tf.fill(p.shape, value));
  };
  set(FOLD_IN_CATALOG, Math.log(start.catalogWeight));
  set(FOLD_IN_LIFT, Math.log(start.lift));
  set(PRIOR_PRECISION, Math.log(start.precision));
  set(PRIOR_NOISE, 0);
  set('out.w', 0);
  model.touch();
}

/**
 * Multiplies a catalog fold-in model's lift m (`prior.logLift`) by `factor` (> 0): with item
 * biases, a smaller lift keeps an adapted user's ranking nearer the biases' (popularity) and a
 * larger one moves it further toward the user's own evidence; without them it changes no ranking.
 */
export function scaleFoldInLift(model: RecommenderModel, factor: number): void {
  if (!model.layout.foldIn)
    throw new ValidationError('model', 'has no catalog fold-in (config.catalogFoldIn)');
  if (!(Number.isFinite(factor) && factor > 0))
    throw new ValidationError('factor', 'must be a finite number > 0');
  const p = model.params[FOLD_IN_LIFT];
  const next = tf.add(p, Math.log(factor));
  p.assign(next);
  next.dispose();
  model.touch();
}
