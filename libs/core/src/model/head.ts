/**
 * ANIL (Raghu et al. 2020, "Rapid Learning or Feature Reuse?"): only the output head adapts per
 * user while the trunk (embeddings and decision layers) is meta-learned and shared. The trunk's
 * output then does not change during adaptation, so it is computed once for all B users' support
 * rows (one [B*S, in] x [in, out] matMul per layer) and each inner step is a per-user linear
 * regression step on those features: pred = features @ w_b + b_b + offset.
 */
import * as tf from '@tensorflow/tfjs-core';
import { groupOf } from './config';
import { supportsClosedFormHead } from './head-only';
import type { NetLayout } from './layout';
import { headOutput, xtdy } from './network';
import type { Params } from './params';

/** Names of the output head's parameters. */
export const HEAD_NAMES: readonly string[] = ['out.w', 'out.b'];

/**
 * True when every local parameter belongs to the output head (the trunk is shared): the
 * {@link supportsClosedFormHead} rule applied to the groups of `localNames`.
 */
export function isHeadOnly(localNames: readonly string[]): boolean {
  return supportsClosedFormHead([...new Set(localNames.map(groupOf))]);
}

/**
 * Gradients of sum_b perUserLoss_b with respect to the head parameters in `localNames`, given the
 * trunk features [B,S,H] and offset [B,S,1]; `rowWeight` is {@link lossRowWeights} (it carries
 * the mask, the 1/n and the learning rate). Built from differentiable ops only, so tf.grad through
 * the adapted head is the exact second-order meta-gradient, trunk included.
 */
export function headGrads(
  l: NetLayout,
  p: Params,
  localNames: readonly string[],
  features: tf.Tensor3D,
  offset: tf.Tensor3D,
  y: tf.Tensor2D,
  rowWeight: tf.Tensor2D,
): Params {
  const pred = headOutput(p, features, offset);
  const resid = l.task === 'rating' ? tf.sub(pred, y) : tf.sub(tf.sigmoid(pred), y);
  const dOut = tf.expandDims(tf.mul(resid, rowWeight), 2) as tf.Tensor3D; // [B,S,1]
  const g: Params = {};
  if (localNames.includes('out.w')) g['out.w'] = xtdy(features, dOut);
  if (localNames.includes('out.b')) g['out.b'] = tf.sum(dOut, 1);
  return g;
}
