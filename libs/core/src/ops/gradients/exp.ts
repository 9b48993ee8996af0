/**
 * Gradient of Exp: dy * exp(x), from the saved output. With log.ts and softplus.ts, for the
 * Bayesian head's positive parameters (exp of log precision and noise) and its Gaussian NLL.
 */
import * as tf from '@tensorflow/tfjs-core';

export const expGradConfig: tf.GradConfig = {
  kernelName: tf.Exp,
  outputsToSave: [true],
  gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as tf.Tensor, y) }),
};
