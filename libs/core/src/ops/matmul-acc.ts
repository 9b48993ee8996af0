/**
 * matMulAcc: c + alpha * op(a) op(b), a gradient step on per-user weights [B, in, out] in one
 * pass. The stock path writes the product and then reads it again to subtract it, which on the
 * wasm backend cost as much as the product itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMulPlan, runOnBackendMemory } from '../native-heap';
import { checkedOutput, fusedKernelsActive, type FusedKernel } from './fused-kernel';

const MATMUL_ACC = 'WarmstartMatMulAcc';

type Info = tf.TensorInfo;

interface MatMulAccAttrs {
  alpha: number;
  transposeA: boolean;
  transposeB: boolean;
}

/** The native kernel; no gradient (matMulAcc serves computations that are not differentiated). */
export const matMulAccKernel: FusedKernel = {
  kernelName: MATMUL_ACC,
  kernelFunc:
    (lib, backendName) =>
    ({ inputs, attrs, backend }) => {
      const { a, b, c } = inputs as { a: Info; b: Info; c: Info };
      const { alpha, transposeA, transposeB } = attrs as unknown as MatMulAccAttrs;
      const p = matMulPlan(a, b, transposeA, transposeB)!; // checked by matMulAcc
      const batchC = tf.util.sizeFromShape(c.shape.slice(0, -2));
      const out = runOnBackendMemory(backendName, backend, [a, b, c], p.outShape, ([av, bv, cv], o) =>
        lib.batchMatMul(
          av,
          bv,
          o,
          p.batchA,
          p.batchB,
          p.m,
          p.k,
          p.n,
          transposeA,
          transposeB,
          cv,
          batchC,
          alpha,
        ),
      );
      return checkedOutput(MATMUL_ACC, out);
    },
};

/**
 * c + alpha * op(a) op(b), where op transposes when asked; a, b are batched matrices (a batch of
 * 1 broadcasts, as in tf.matMul) and c has the product's shape or a batch of 1. Has no gradient
 * on the native path: for computations that are not differentiated (serving's inner loop).
 */
export function matMulAcc(
  c: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  alpha: number,
  transposeA = false,
  transposeB = false,
): tf.Tensor {
  const p = fusedKernelsActive() ? matMulPlan(a, b, transposeA, transposeB) : undefined;
  const batchC = tf.util.sizeFromShape(c.shape.slice(0, -2));
  const fits =
    p !== undefined &&
    c.dtype === 'float32' &&
    c.shape.length >= 2 &&
    c.shape.at(-2) === p.m &&
    c.shape.at(-1) === p.n &&
    (batchC === 1 || tf.util.arraysEqual(c.shape, p.outShape));
  if (!fits) return tf.add(c, tf.mul(tf.matMul(a, b, transposeA, transposeB), alpha));
  const attrs: MatMulAccAttrs = { alpha, transposeA, transposeB };
  return tf.engine().runKernel(MATMUL_ACC, { a, b, c }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}
