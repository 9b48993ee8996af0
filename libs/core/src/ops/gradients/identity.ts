/** Gradient of Identity: dy. */
import * as tf from '@tensorflow/tfjs-core';

export const identityGradConfig: tf.GradConfig = {
  kernelName: tf.Identity,
  gradFunc: (dy) => ({ x: () => tf.clone(dy as tf.Tensor) }),
};
