/** Gradient of Softplus: dy * sigmoid(x). */
import * as tf from '@tensorflow/tfjs-core';

export const softplusGradConfig: tf.GradConfig = {
  kernelName: tf.Softplus,
  inputsToSave: ['x'],
  gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sigmoid(x)) }),
};
