/**
 * Bayesian last layer (ALPaCA, Harrison et al. 2018, on MeLU's shared trunk): the output head
 * theta = [w; b] of a user has a Gaussian prior N(m, Lambda^-1) whose mean m is the meta-learned
 * head (out.w, out.b) and whose precision Lambda = diag(exp(prior.logPrec)) is meta-learned (one
 * precision per trunk feature plus the bias's own, so the user bias is shrunk by a learned
 * amount), and ratings are y = [h, 1] . theta + offset + noise, noise ~ N(0, sigma^2) with
 * sigma^2 = exp(prior.logNoise) meta-learned as well. The posterior given a support set (design X,
 * residuals r = y - X m - offset) is Gaussian with
 *
 *   mean       m + (D + X^T X)^-1 X^T r,        D = sigma^2 Lambda (diagonal)
 *   covariance sigma^2 (D + X^T X)^-1,
 *
 * i.e. a ridge regression with one penalty per coordinate: the ridge head is the special case of
 * a scalar precision and unit noise. With no support rows it is the prior. Solved through
 * `solveSpd` in the primal ((H+1) x (H+1)) or, when the support set is smaller, the dual form
 * (Woodbury: (D + X^T X)^-1 X^T = D^-1 X^T (I + X D^-1 X^T)^-1, an S x S system): the same result.
 */
import * as tf from '@tensorflow/tfjs-core';
import { solveSpd } from './spd-solve';

/** Names of the prior's parameters (group `headPrior`, always global). */
export const PRIOR_PRECISION = 'prior.logPrec';
export const PRIOR_NOISE = 'prior.logNoise';

/** Initial values: precision 10 per coordinate (the ridge head's default penalty) and unit noise. */
export const INITIAL_LOG_PRECISION = Math.log(10);
export const INITIAL_LOG_NOISE = 0;

/** The masked design [h_s, 1] of the support rows (padded rows all zero) [B,S,H+1]. */
export function headDesign(features: tf.Tensor3D, mask: tf.Tensor2D): tf.Tensor3D {
  const [b, s] = mask.shape;
  const m = tf.expandDims(mask, 2) as tf.Tensor3D;
  return tf.mul(tf.concat([features, tf.ones([b, s, 1])], 2), m) as tf.Tensor3D;
}

/** The prior's diagonal D = sigma^2 * Lambda ([H+1]) and sigma^2 (scalar), from the log parameters. */
export function priorScale(logPrec: tf.Tensor, logNoise: tf.Tensor): { d: tf.Tensor1D; noise: tf.Scalar } {
  const noise = tf.exp(tf.reshape(logNoise, [])) as tf.Scalar;
  return { d: tf.mul(tf.exp(logPrec), noise) as tf.Tensor1D, noise };
}

/** Result of {@link bayesHeadPosterior}. */
export interface HeadPosterior {
  /** Posterior mean minus the prior mean: additions to out.w [B,H,1] and out.b [B,1]. */
  dw: tf.Tensor3D;
  db: tf.Tensor2D;
  /** With query rows: the predictive variance of each query rating [B,Q] (noise included). */
  variance?: tf.Tensor2D;
  /** The masked support design [h_s, 1] [B,S,H+1]: with the prior, all the posterior depends on. */
  design: tf.Tensor3D;
}

/**
 * The posterior of B users' heads: `features` [B,S,H] of the support items, `resid` [B,S] the
 * support residuals of the prior mean, `mask` [B,S], `d` = sigma^2 Lambda [H+1], `noise` sigma^2.
 * With `query` features [B,Q,H], also the predictive variance there. Differentiable in every
 * input (the meta-objective goes through it).
 */
export function bayesHeadPosterior(
  features: tf.Tensor3D,
  resid: tf.Tensor2D,
  mask: tf.Tensor2D,
  d: tf.Tensor1D,
  noise: tf.Scalar,
  query?: tf.Tensor3D,
): HeadPosterior {
  const [b, s, h] = features.shape;
  const x = headDesign(features, mask);
  const r = tf.mul(tf.expandDims(resid, 2), tf.expandDims(mask, 2)) as tf.Tensor3D;
  const z = query ? (tf.concat([query, tf.ones([b, query.shape[1], 1])], 2) as tf.Tensor3D) : null;
  const { delta, variance } = s < h + 1 ? dual(x, r, d, noise, z) : primal(x, r, d, noise, z);
  return {
    dw: tf.slice(delta, [0, 0, 0], [b, h, 1]),
    db: tf.reshape(tf.slice(delta, [0, h, 0], [b, 1, 1]), [b, 1]),
    ...(variance && { variance }),
    design: x,
  };
}

/**
 * Predictive variance [B,Q] (noise included) at `query` features [B,Q,H] of heads whose posterior
 * came from the support `design` ({@link HeadPosterior.design}) under the prior `d`, `noise`.
 */
export function predictiveVarianceAt(
  design: tf.Tensor3D,
  d: tf.Tensor1D,
  noise: tf.Scalar,
  query: tf.Tensor3D,
): tf.Tensor2D {
  const [b, s, dim] = design.shape;
  const z = tf.concat([query, tf.ones([b, query.shape[1], 1])], 2) as tf.Tensor3D;
  const r = tf.zeros([b, s, 1]) as tf.Tensor3D;
  return (s < dim ? dual(design, r, d, noise, z) : primal(design, r, d, noise, z)).variance!;
}

/** (D + X^T X) delta = X^T r, and with z: sigma^2 (z (D + X^T X)^-1 z^T + 1) per query row. */
type Solution = { delta: tf.Tensor3D; variance?: tf.Tensor2D };

function primal(
  x: tf.Tensor3D,
  r: tf.Tensor3D,
  d: tf.Tensor1D,
  noise: tf.Scalar,
  z: tf.Tensor3D | null,
): Solution {
  const dim = x.shape[2];
  const gram = tf.add(tf.matMul(x, x, true, false), tf.mul(tf.eye(dim), d)) as tf.Tensor3D;
  const xtr = tf.matMul(x, r, true, false) as tf.Tensor3D;
  if (!z) return { delta: solveSpd(gram, xtr) };
  const zt = tf.transpose(z, [0, 2, 1]) as tf.Tensor3D; // [B, d, Q]
  const sol = solveSpd(gram, tf.concat([xtr, zt], 2) as tf.Tensor3D);
  const delta = tf.slice(sol, [0, 0, 0], [-1, -1, 1]) as tf.Tensor3D;
  const m = tf.slice(sol, [0, 0, 1], [-1, -1, -1]);
  const quad = tf.sum(tf.mul(zt, m), 1) as tf.Tensor2D; // z G^-1 z^T per query row
  return { delta, variance: tf.mul(tf.add(quad, 1), noise) as tf.Tensor2D };
}

/**
 * Woodbury: K = I + X D^-1 X^T (S x S), delta = D^-1 X^T K^-1 r, and with z:
 * z G^-1 z^T = z D^-1 z^T - (X D^-1 z^T)^T K^-1 (X D^-1 z^T).
 */
function dual(
  x: tf.Tensor3D,
  r: tf.Tensor3D,
  d: tf.Tensor1D,
  noise: tf.Scalar,
  z: tf.Tensor3D | null,
): Solution {
  const s = x.shape[1];
  const xd = tf.div(x, d) as tf.Tensor3D; // X D^-1 [B,S,d]
  const k = tf.add(tf.matMul(xd, x, false, true), tf.eye(s)) as tf.Tensor3D;
  if (!z) return { delta: tf.matMul(xd, solveSpd(k, r), true, false) as tf.Tensor3D };
  const zd = tf.div(z, d) as tf.Tensor3D; // z D^-1 [B,Q,d]
  const a = tf.matMul(x, zd, false, true) as tf.Tensor3D; // X D^-1 z^T [B,S,Q]
  const sol = solveSpd(k, tf.concat([r, a], 2) as tf.Tensor3D);
  const alpha = tf.slice(sol, [0, 0, 0], [-1, -1, 1]) as tf.Tensor3D;
  const w = tf.slice(sol, [0, 0, 1], [-1, -1, -1]);
  const quad = tf.sub(tf.sum(tf.mul(z, zd), 2), tf.sum(tf.mul(a, w), 1));
  return {
    delta: tf.matMul(xd, alpha, true, false) as tf.Tensor3D,
    variance: tf.mul(tf.add(quad, 1), noise) as tf.Tensor2D,
  };
}

/**
 * Mean Gaussian negative log-likelihood per user [B] of the query ratings `y` [B,Q] (mask [B,Q])
 * under predictive means `mean` and variances `variance`: ALPaCA's meta-training loss, which
 * identifies the prior precision and the noise separately (a squared error sees only their ratio).
 */
export function gaussianNll(
  mean: tf.Tensor2D,
  variance: tf.Tensor2D,
  y: tf.Tensor2D,
  mask: tf.Tensor2D,
): tf.Tensor1D {
  const e = tf.mul(
    0.5,
    tf.add(tf.log(tf.mul(variance, 2 * Math.PI)), tf.div(tf.square(tf.sub(y, mean)), variance)),
  );
  const n = tf.maximum(tf.sum(mask, 1), 1);
  return tf.div(tf.sum(tf.mul(e, mask), 1), n) as tf.Tensor1D;
}
