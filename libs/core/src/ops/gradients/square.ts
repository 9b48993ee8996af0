/** Gradient of Square: 2x dy. */
import * as tf from '@tensorflow/tfjs-core';

export const squareGradConfig: tf.GradConfig = {
  kernelName: tf.Square,
  inputsToSave: ['x'],
  gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(x, 2)) }),
};
