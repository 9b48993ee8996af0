/**
 * Closed-form adaptation of the output head (ANIL configuration): instead of gradient steps, each
 * user's head moves to the ridge-regression solution on the support set,
 *
 *   delta = argmin sum_s mask_s (r_s - [h_s, 1] . delta)^2 + lambda |delta|^2,
 *
 * where h_s are the shared trunk's features of the support items and r_s the residuals of the
 * meta-learned head. The head then fits the user exactly as far as the penalty allows, in one
 * solve, and the meta-gradient flows through the solve into the trunk (the base learner of
 * Bertinetto et al. 2019, "Meta-learning with differentiable closed-form solvers", on MeLU's trunk).
 */
import * as tf from '@tensorflow/tfjs-core';
import { solveSpd } from './spd-solve';

/**
 * Ridge correction of the head for B users: `features` [B,S,H] of the support items, `resid`
 * [B,S] the support residuals y - prediction, `mask` [B,S] (padded rows 0). Returns the additions
 * to the output weights [B,H,1] and bias [B,1]. Solved in the dual (S x S) when the support set
 * is smaller than H + 1, in the primal ((H+1) x (H+1)) otherwise: the same solution either way.
 */
export function ridgeHeadDelta(
  features: tf.Tensor3D,
  resid: tf.Tensor2D,
  mask: tf.Tensor2D,
  lambda: number,
): { dw: tf.Tensor3D; db: tf.Tensor2D } {
  if (!(Number.isFinite(lambda) && lambda > 0)) throw new RangeError('ridge penalty must be > 0');
  const [b, s, h] = features.shape;
  const m = tf.expandDims(mask, 2) as tf.Tensor3D;
  // Masked design rows [h_s, 1]: padded rows are all zero, so they change nothing.
  const x = tf.mul(tf.concat([features, tf.ones([b, s, 1])], 2), m) as tf.Tensor3D;
  const r = tf.mul(tf.expandDims(resid, 2), m) as tf.Tensor3D;
  let delta: tf.Tensor3D;
  if (s < h + 1) {
    // Dual: (X X^T + lambda I) alpha = r, delta = X^T alpha.
    const gram = tf.add(tf.matMul(x, x, false, true), tf.mul(tf.eye(s), lambda)) as tf.Tensor3D;
    delta = tf.matMul(x, solveSpd(gram, r), true, false);
  } else {
    // Primal: (X^T X + lambda I) delta = X^T r.
    const gram = tf.add(tf.matMul(x, x, true, false), tf.mul(tf.eye(h + 1), lambda)) as tf.Tensor3D;
    delta = solveSpd(gram, tf.matMul(x, r, true, false));
  }
  return {
    dw: tf.slice(delta, [0, 0, 0], [b, h, 1]),
    db: tf.reshape(tf.slice(delta, [0, h, 0], [b, 1, 1]), [b, 1]),
  };
}
