/** Gradient of GatherV2 along axis 0: dy scattered back onto the gathered rows. */
import * as tf from '@tensorflow/tfjs-core';

export const gatherV2GradConfig: tf.GradConfig = {
  kernelName: tf.GatherV2,
  inputsToSave: ['x', 'indices'],
  gradFunc: (dy, [x, indices], attrs) => {
    const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
    if ((axis !== 0 && axis !== -x.rank) || batchDims)
      throw new Error('GatherV2 gradient: only axis 0 is supported');
    // One-hot scatter-add (UnsortedSegmentSum is missing from the wasm backend).
    const cols = x.size / x.shape[0];
    const flat = tf.reshape(indices, [-1]) as tf.Tensor1D;
    const rows = tf.reshape(dy as tf.Tensor, [flat.shape[0], cols]);
    const g = tf.matMul(tf.oneHot(flat, x.shape[0]), rows as tf.Tensor2D, true, false);
    return { x: () => tf.reshape(g, x.shape), indices: () => tf.zerosLike(indices) };
  },
};
