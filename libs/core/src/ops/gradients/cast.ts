/** Gradient of Cast: dy into a float32 input, zero into any other. */
import * as tf from '@tensorflow/tfjs-core';

export const castGradConfig: tf.GradConfig = {
  kernelName: tf.Cast,
  inputsToSave: ['x'],
  gradFunc: (dy, [x]) => ({
    x: () => (x.dtype === 'float32' ? tf.clone(dy as tf.Tensor) : tf.zerosLike(x)),
  }),
};
