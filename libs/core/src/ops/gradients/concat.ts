/** Gradient of Concat: dy split along the axis into the inputs' sizes. */
import * as tf from '@tensorflow/tfjs-core';

export const concatGradConfig: tf.GradConfig = {
  kernelName: tf.Concat,
  saveAllInputs: true,
  gradFunc: (dy, saved, attrs) => {
    const d = dy as tf.Tensor;
    let axis = (attrs as unknown as { axis: number }).axis;
    if (axis < 0) axis += d.rank;
    const parts = tf.split(
      d,
      saved.map((t) => t.shape[axis]),
      axis,
    );
    // Concat's inputs are keyed by position.
    return Object.fromEntries(parts.map((p, i) => [String(i), () => p]));
  },
};
