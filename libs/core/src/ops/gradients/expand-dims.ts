/** Gradient of ExpandDims: dy in the input's shape. */
import * as tf from '@tensorflow/tfjs-core';

export const expandDimsGradConfig: tf.GradConfig = {
  kernelName: tf.ExpandDims,
  inputsToSave: ['input'],
  gradFunc: (dy, [x]) => ({ input: () => tf.reshape(dy as tf.Tensor, x.shape) }),
};
