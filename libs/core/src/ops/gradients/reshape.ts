/** Gradient of Reshape: dy in the input's shape. */
import * as tf from '@tensorflow/tfjs-core';

export const reshapeGradConfig: tf.GradConfig = {
  kernelName: tf.Reshape,
  inputsToSave: ['x'],
  gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as tf.Tensor, x.shape) }),
};
