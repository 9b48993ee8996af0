/**
 * BPR (Rendle et al. 2009), the ranking loss of implicit models trained with sampled negatives:
 * for every pair of a positive p and a negative n drawn for it, -log sigmoid(s_p - s_n), i.e.
 * softplus(s_n - s_p). Pairwise, so it depends only on score differences within a user: a user's
 * additive offset cancels, and the scores it trains are ranking scores, not probabilities.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Per-user mean BPR loss [B] over the pairs: `pos` [B,Q] positive scores, `neg` [B,M] negative
 * scores, `pair` [B,M,Q] one-hot (row m picks the positive negative m was drawn for), `negMask`
 * [B,M] (padded negatives 0). A user without pairs has loss 0. Differentiable in pos and neg.
 */
export function bprPerUser(
  pos: tf.Tensor2D,
  neg: tf.Tensor2D,
  pair: tf.Tensor3D,
  negMask: tf.Tensor2D,
): tf.Tensor1D {
  // Each negative's positive score, as a product with the one-hot pairing (differentiable).
  const posOfNeg = tf.squeeze(tf.matMul(pair, tf.expandDims(pos, 2) as tf.Tensor3D), [2]);
  const loss = tf.softplus(tf.sub(neg, posOfNeg));
  const n = tf.maximum(tf.sum(negMask, 1), 1);
  return tf.div(tf.sum(tf.mul(loss, negMask), 1), n) as tf.Tensor1D;
}
