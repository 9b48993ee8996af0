/**
 * Catalog fold-in of implicit feedback: the Bayesian last layer (bayes-head.ts) with the whole
 * catalog as weak evidence of "not interacted", the way implicit ALS folds a user in (Hu, Koren
 * and Volinsky 2008): every item the user did not interact with is an observation of 0 with a
 * small weight, the interactions are observations of a lift above the prior. For a user with
 * support design X_S (positives only, rows [h_s, 1]) the head moves from the prior mean by
 *
 *   delta = (D + X_S^T X_S + w G)^-1 X_S^T (m y_S),      G = mean over catalog items of z z^T,
 *
 * with z = [h_i, 1] the catalog items' trunk features, D the prior's diagonal precision (scaled
 * by the noise), w = exp(prior.logCatalog) the weight of the whole catalog and m =
 * exp(prior.logLift) the lift of an interaction, all meta-learned through the solve. G makes the
 * lift specific: a direction shared by every item (popularity, the bias) is held back, and the
 * items whose features align with the support items' are lifted, so "users who played these also
 * played" works from the first interaction. With no support the head is the prior's (delta 0).
 * The lift of a user with n support interactions is m (1 + g n) (g: the adaptation setting
 * `evidenceGrowth`, chosen on validation users): the item biases carry popularity, which should
 * matter less as a user's own evidence grows, but the delta alone saturates at m.
 *
 * Compared with sampled negatives in the support set, the catalog term is the exact expectation
 * over the catalog sample instead of a handful of draws per positive: no sampling noise at k = 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import { solveSpd } from './spd-solve';

/** Log weight of the catalog term and log lift of an interaction (group `headPrior`, global). */
export const FOLD_IN_CATALOG = 'prior.logCatalog';
export const FOLD_IN_LIFT = 'prior.logLift';

/** Initial values: the catalog counts as 10 observations of 0, an interaction lifts by 1. */
export const INITIAL_LOG_CATALOG = Math.log(10);
export const INITIAL_LOG_LIFT = 0;

/** Catalog items sampled per meta-batch during meta-training (an unbiased estimate of G). */
export const TRAIN_CATALOG_SAMPLE = 256;
/**
 * Catalog items used for G at adaptation (all of them when the catalog is smaller): 65,536 when
 * every user shares G (computed once per model version, in chunks of SHARED_GRAM_CHUNK rows, so
 * up to that size G is exact; a 2,048-item sample cost hetrec-lastfm's 17.6k-item catalog 0.006
 * validation NDCG@20), 256 per user when the trunk reads user features and each user's G costs a
 * trunk pass over the sample on every call.
 */
export const ADAPT_CATALOG_SAMPLE = 65_536;
/** Catalog rows per trunk pass when the shared G is accumulated (bounds the pass's memory). */
export const SHARED_GRAM_CHUNK = 4096;
export const ADAPT_CATALOG_SAMPLE_PER_USER = 256;

/** Rows [h, 1] of trunk features [B,S,H], masked ([B,S], padded rows all zero). */
function design(features: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor3D {
  const [b, s] = mask.shape;
  return tf.mul(tf.concat([features, tf.ones([b, s, 1])], 2), tf.expandDims(mask, 2)) as tf.Tensor3D;
}

/** The catalog term's G: mean over the M catalog rows z = [h, 1] of z z^T ([cb, H+1, H+1]). */
export function catalogGram(catalog: tf.Tensor3D): tf.Tensor3D {
  return tf.div(catalogGramSum(catalog), catalog.shape[1]) as tf.Tensor3D;
}

/** The sum over the M catalog rows z = [h, 1] of z z^T (G times M; for accumulating in chunks). */
export function catalogGramSum(catalog: tf.Tensor3D): tf.Tensor3D {
  const [cb, m] = catalog.shape;
  const z = tf.concat([catalog, tf.ones([cb, m, 1])], 2) as tf.Tensor3D;
  return tf.matMul(z, z, true, false) as tf.Tensor3D;
}

/**
 * The head delta of B users (additions to out.w [B,H,1] and out.b [B,1]). `support` [B,S,H] with
 * `y` [B,S] (1 for an interaction; padded rows masked out by `mask`), `gram` the catalog's G
 * ({@link catalogGram}; [1, H+1, H+1] when every user shares it, the trunk not depending on the
 * user, else [B, H+1, H+1]), `d` the prior's D [H+1], `logCatalog` and `logLift` scalars,
 * `growth` the evidence growth g of the lift (>= 0). Differentiable in every tensor input.
 */
export function catalogFoldInDelta(
  support: tf.Tensor3D,
  y: tf.Tensor2D,
  mask: tf.Tensor2D,
  gram: tf.Tensor3D,
  d: tf.Tensor1D,
  logCatalog: tf.Tensor,
  logLift: tf.Tensor,
  growth = 0,
): { dw: tf.Tensor3D; db: tf.Tensor2D } {
  const [b, , h] = support.shape;
  const x = design(support, mask);
  const weight = tf.exp(tf.reshape(logCatalog, []));
  const lift = tf.exp(tf.reshape(logLift, []));
  const a = tf.add(
    tf.add(tf.matMul(x, x, true, false), tf.mul(gram, weight)),
    tf.mul(tf.eye(h + 1), d),
  ) as tf.Tensor3D;
  // Each user's lift m (1 + g n), n = their support size ([B, 1]).
  const lifts = growth > 0 ? tf.mul(tf.add(tf.mul(tf.sum(mask, 1, true), growth), 1), lift) : lift;
  const target = tf.expandDims(tf.mul(tf.mul(y, mask), lifts), 2) as tf.Tensor3D;
  const delta = solveSpd(a, tf.matMul(x, target, true, false) as tf.Tensor3D);
  return {
    dw: tf.slice(delta, [0, 0, 0], [b, h, 1]),
    db: tf.reshape(tf.slice(delta, [0, h, 0], [b, 1, 1]), [b, 1]),
  };
}

/** Starting values of the fold-in's weights (see {@link initCatalogFoldIn}). */
export interface FoldInStart {
  /** w: the whole catalog's weight as observations of 0. */
  catalogWeight: number;
  /** D: the prior's precision of every head coordinate (times its noise). */
  precision: number;
  /** m: the lift of an interaction. */
  lift: number;
}

/**
 * The fold-in's weights w, D and m for a model whose item features start as implicit-ALS factors
 * (Hu, Koren and Volinsky 2008; confidence 1 + alpha, penalty reg, N catalog items): dividing
 * ALS's fold-in (Y^T Y + alpha X_S^T X_S + reg I) x = (1 + alpha) X_S^T 1 by alpha gives this
 * file's form with w = N / alpha, D = reg / alpha and m = (1 + alpha) / alpha.
 */
export function alsFoldInStart(catalogSize: number, alpha: number, reg: number): FoldInStart {
  return { catalogWeight: catalogSize / alpha, precision: reg / alpha, lift: (1 + alpha) / alpha };
}
