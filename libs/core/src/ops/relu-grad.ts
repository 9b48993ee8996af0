/** reluGrad: dy * (z > 0), the backward pass of ReLU in one kernel instead of two. */
import * as tf from '@tensorflow/tfjs-core';
import { runOnBackendMemory } from '../native-heap';
import { checkedOutput, fusedKernelsActive, type FusedKernel } from './fused-kernel';

const RELU_GRAD = 'WarmstartReluGrad';

type Info = tf.TensorInfo;

export const reluGradKernel: FusedKernel = {
  kernelName: RELU_GRAD,
  kernelFunc:
    (lib, backendName) =>
    ({ inputs, backend }) => {
      const { dy, z } = inputs as { dy: Info; z: Info };
      const out = runOnBackendMemory(backendName, backend, [dy, z], z.shape, ([d, zv], o) =>
        lib.reluGrad(d, zv, o),
      );
      return checkedOutput(RELU_GRAD, out);
    },
  // d/d(dy) of dy * step(z) is step(z) (the same op); d/dz is 0 almost everywhere, as tf.step's.
  gradient: {
    kernelName: RELU_GRAD,
    inputsToSave: ['z'],
    gradFunc: (g, saved) => {
      const [z] = saved;
      return { dy: () => reluGrad(g as tf.Tensor, z), z: () => tf.zerosLike(z) };
    },
  },
};

/** dy * (z > 0) for equal shapes: the backward pass of ReLU. Differentiable (twice and more). */
export function reluGrad(dy: tf.Tensor, z: tf.Tensor): tf.Tensor {
  if (!fusedKernelsActive() || dy.dtype !== 'float32' || !tf.util.arraysEqual(dy.shape, z.shape)) {
    return tf.mul(dy, tf.step(z));
  }
  return tf.engine().runKernel(RELU_GRAD, { dy, z }) as tf.Tensor;
}
