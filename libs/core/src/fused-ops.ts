/**
 * Fused operations for the inner loop, run by the native addon where it serves the backend and
 * composed from stock ops (same results) elsewhere:
 * - {@link matMulAcc}: c + alpha * op(a) op(b), a gradient step on per-user weights [B, in, out]
 *   in one pass; the stock path writes the product and then reads it again to subtract it,
 *   which on the wasm backend cost as much as the product itself.
 * - {@link reluGrad}: dy * (z > 0), the backward pass of ReLU in one kernel instead of two.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Addon } from './native-kernels';
import { matMulPlan, runOnBackendMemory } from './native-heap';

const MATMUL_ACC = 'WarmstartMatMulAcc';
const RELU_GRAD = 'WarmstartReluGrad';

/** Backends on which the fused kernels are registered. */
const registered = new Set<string>();
let gradientRegistered = false;

type Info = tf.TensorInfo;

interface MatMulAccAttrs {
  alpha: number;
  transposeA: boolean;
  transposeB: boolean;
}

/** Registers the fused kernels on `backendName` (called when the native BatchMatMul is installed). */
export function registerFusedKernels(lib: Addon, backendName: string): void {
  if (registered.has(backendName)) return;
  tf.registerKernel({
    kernelName: MATMUL_ACC,
    backendName,
    kernelFunc: ({ inputs, attrs, backend }) => {
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
      if (!out) throw new Error(`${MATMUL_ACC}: inputs are not float32 arrays`);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: RELU_GRAD,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { dy, z } = inputs as { dy: Info; z: Info };
      const out = runOnBackendMemory(backendName, backend, [dy, z], z.shape, ([d, zv], o) =>
        lib.reluGrad(d, zv, o),
      );
      if (!out) throw new Error(`${RELU_GRAD}: inputs are not float32 arrays`);
      return out;
    },
  });
  if (!gradientRegistered) {
    // d/d(dy) of dy * step(z) is step(z) (the same op); d/dz is 0 almost everywhere, as tf.step's.
    tf.registerGradient({
      kernelName: RELU_GRAD,
      inputsToSave: ['z'],
      gradFunc: (g, saved) => {
        const [z] = saved;
        return { dy: () => reluGrad(g as tf.Tensor, z), z: () => tf.zerosLike(z) };
      },
    });
    gradientRegistered = true;
  }
  registered.add(backendName);
}

/** Removes the fused kernels from `backendName` (the stock compositions then run). */
export function unregisterFusedKernels(backendName: string): void {
  if (!registered.delete(backendName)) return;
  tf.unregisterKernel(MATMUL_ACC, backendName);
  tf.unregisterKernel(RELU_GRAD, backendName);
}

/** Whether the fused kernels serve the active backend. */
export function fusedKernelsActive(): boolean {
  return registered.has(tf.getBackend());
}

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

/** dy * (z > 0) for equal shapes: the backward pass of ReLU. Differentiable (twice and more). */
export function reluGrad(dy: tf.Tensor, z: tf.Tensor): tf.Tensor {
  if (!fusedKernelsActive() || dy.dtype !== 'float32' || !tf.util.arraysEqual(dy.shape, z.shape)) {
    return tf.mul(dy, tf.step(z));
  }
  return tf.engine().runKernel(RELU_GRAD, { dy, z }) as tf.Tensor;
}
