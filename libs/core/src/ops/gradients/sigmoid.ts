/** Gradient of Sigmoid: dy * y (1 - y), from the saved output. */
import * as tf from '@tensorflow/tfjs-core';

export const sigmoidGradConfig: tf.GradConfig = {
  kernelName: tf.Sigmoid,
  outputsToSave: [true],
  gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(y, tf.sub(1, y))) }),
};
