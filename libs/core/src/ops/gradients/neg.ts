/** Gradient of Neg: -dy. */
import * as tf from '@tensorflow/tfjs-core';

export const negGradConfig: tf.GradConfig = {
  kernelName: tf.Neg,
  gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }),
};
