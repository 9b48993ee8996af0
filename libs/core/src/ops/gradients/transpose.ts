/** Gradient of Transpose: dy under the inverse permutation. */
import * as tf from '@tensorflow/tfjs-core';

export const transposeGradConfig: tf.GradConfig = {
  kernelName: tf.Transpose,
  gradFunc: (dy, _saved, attrs) => {
    const perm = (attrs as unknown as { perm: number[] }).perm;
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return { x: () => tf.transpose(dy as tf.Tensor, inverse) };
  },
};
