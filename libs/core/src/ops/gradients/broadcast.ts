/** Gradients of broadcasting binary kernels: each input's share summed back to its shape. */
import * as tf from '@tensorflow/tfjs-core';

/** Sums a broadcast gradient back to the input's shape. */
export function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  let r = g;
  const extra = r.rank - shape.length;
  if (extra > 0) r = tf.sum(r, [...Array(extra).keys()]);
  const axes = shape.flatMap((d, i) => (d === 1 && r.shape[i] !== 1 ? [i] : []));
  if (axes.length > 0) r = tf.sum(r, axes, true);
  return tf.reshape(r, shape);
}

/** The gradient of a binary kernel with inputs a, b from dy, a and b (before unbroadcasting). */
export function binary(
  kernelName: string,
  fa: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  fb: typeof fa,
): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): Record<string, () => tf.Tensor> => {
      const [a, b] = saved;
      const d = dy as tf.Tensor;
      return { a: () => unbroadcast(fa(d, a, b), a.shape), b: () => unbroadcast(fb(d, a, b), b.shape) };
    },
  };
}
