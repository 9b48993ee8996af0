/** Gradient of Log: dy / x. */
import * as tf from '@tensorflow/tfjs-core';

export const logGradConfig: tf.GradConfig = {
  kernelName: tf.Log,
  inputsToSave: ['x'],
  gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as tf.Tensor, x) }),
};
