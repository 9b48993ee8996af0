/** Gradient of BatchMatMul, for each combination of transposed operands. */
import * as tf from '@tensorflow/tfjs-core';

export const batchMatMulGradConfig: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const d = dy as tf.Tensor;
    const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
    if (!transposeA && !transposeB)
      return { a: () => tf.matMul(d, b, false, true), b: () => tf.matMul(a, d, true, false) };
    if (!transposeA && transposeB) return { a: () => tf.matMul(d, b), b: () => tf.matMul(d, a, true, false) };
    if (transposeA && !transposeB) return { a: () => tf.matMul(b, d, false, true), b: () => tf.matMul(a, d) };
    return { a: () => tf.matMul(b, d, true, true), b: () => tf.matMul(d, a, true, true) };
  },
};
