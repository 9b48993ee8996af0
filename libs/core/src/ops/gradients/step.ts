/** Gradient of Step: piecewise constant, so zero (the relu mask of the hand-written backward pass). */
import * as tf from '@tensorflow/tfjs-core';

export const stepGradConfig: tf.GradConfig = {
  kernelName: tf.Step,
  gradFunc: (dy) => ({ x: () => tf.zerosLike(dy as tf.Tensor) }),
};
