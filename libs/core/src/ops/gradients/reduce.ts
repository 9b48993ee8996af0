/** Gradients of reductions: dy broadcast back over the reduced axes. */
import * as tf from '@tensorflow/tfjs-core';

/** The reduced axes of a kernel's `axis` attribute (all when absent), non-negative. */
export function reducedAxes(axis: number | number[] | undefined | null, rank: number): number[] {
  if (axis === undefined || axis === null) return [...Array(rank).keys()];
  return (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a));
}

/** dy of a reduction, broadcast back over the reduced axes of x. */
export function expandReduced(dy: tf.Tensor, x: tf.Tensor, axes: number[]): tf.Tensor {
  const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return tf.mul(tf.reshape(dy, keep), tf.onesLike(x));
}
