/**
 * Fused operations for the inner loop, run by the native addon where it serves the backend and
 * composed from stock ops (same results) elsewhere:
 * - {@link matMulAcc}: c + alpha * op(a) op(b), a gradient step on per-user weights [B, in, out]
 *   in one pass; the stock path writes the product and then reads it again to subtract it,
 *   which on the wasm backend cost as much as the product itself.
 * - {@link reluGrad}: dy * (z > 0), the backward pass of ReLU in one kernel instead of two.
 * - {@link addRowsRelu}: relu(x + rows...), a dense layer's bias (and the first layer's user
 *   half) and its ReLU in one pass instead of three.
 * On the wasm backend each of those passes over a [B, S, H] activation costs about as much as
 * the arithmetic, so fewer passes is what makes large batches cheaper per user.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Addon } from './native-kernels';
import { matMulPlan, runOnBackendMemory } from './native-heap';

const MATMUL_ACC = 'WarmstartMatMulAcc';
const RELU_GRAD = 'WarmstartReluGrad';
const ADD_ROWS_RELU = 'WarmstartAddRowsRelu';

/** Backends on which the fused kernels are registered. */
const registered = new Set<string>();
let gradientRegistered = false;

type Info = tf.TensorInfo;

/** The operands' shapes of relu(x + rows), for its gradient ([] when there is no r1). */
interface RowsReluAttrs {
  xShape: number[];
  r0Shape: number[];
  r1Shape: number[];
}

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
  tf.registerKernel({
    kernelName: ADD_ROWS_RELU,
    backendName,
    kernelFunc: ({ inputs, backend }) => {
      const { x, r0, r1 } = inputs as { x: Info; r0: Info; r1?: Info };
      const shape = rowsReluShape(x, r1 ? [r0, r1] : [r0])!; // checked by addRowsRelu
      const [batch, s, h] = shape;
      const bOf = (t: Info, per: number) => tf.util.sizeFromShape(t.shape) / per;
      const out = runOnBackendMemory(
        backendName,
        backend,
        r1 ? [x, r0, r1] : [x, r0],
        shape,
        ([xv, v0, v1], o) =>
          lib.addRowsRelu(xv, bOf(x, s * h), v0, bOf(r0, h), v1 ?? null, r1 ? bOf(r1, h) : 1, o, batch, s, h),
      );
      if (!out) throw new Error(`${ADD_ROWS_RELU}: inputs are not float32 arrays`);
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
    // relu(x + rows): the ReLU gradient (out > 0 exactly where the pre-activation is), summed
    // over the axes each operand was broadcast along.
    tf.registerGradient({
      kernelName: ADD_ROWS_RELU,
      // Only the inputs' shapes are needed (attrs), so no input is kept for the backward pass.
      outputsToSave: [true],
      gradFunc: (g, [out], attrs) => {
        const shapes = attrs as unknown as RowsReluAttrs;
        const dz = reluGrad(g as tf.Tensor, out);
        const to = (shape: number[]) => () => {
          const axes = tf.backend_util.getReductionAxes(shape, dz.shape);
          return tf.reshape(axes.length > 0 ? tf.sum(dz, axes) : dz, shape);
        };
        return {
          x: to(shapes.xShape),
          r0: to(shapes.r0Shape),
          ...(shapes.r1Shape.length > 0 && { r1: to(shapes.r1Shape) }),
        };
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
  tf.unregisterKernel(ADD_ROWS_RELU, backendName);
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

/**
 * The output shape [B, S, H] of relu(x + rows...) when the fused kernel takes it: x is
 * [1 or B, S, H] and each row operand [1 or B, 1, H] or [H], all float32. Undefined otherwise.
 */
function rowsReluShape(x: Info, rows: Info[]): number[] | undefined {
  if (x.shape.length !== 3 || rows.length < 1 || rows.length > 2) return undefined;
  const [, s, h] = x.shape;
  const batches = [x.shape[0]];
  for (const r of rows) {
    const ok =
      r.shape.length === 1 ? r.shape[0] === h : r.shape.length === 3 && r.shape[1] === 1 && r.shape[2] === h;
    if (!ok || r.dtype !== 'float32') return undefined;
    batches.push(r.shape.length === 3 ? r.shape[0] : 1);
  }
  const batch = Math.max(...batches);
  if (x.dtype !== 'float32' || batches.some((b) => b !== 1 && b !== batch)) return undefined;
  return [batch, s, h];
}

/**
 * relu(x + rows[0] (+ rows[1])): x [1 or B, S, H], each row [1 or B, 1, H] or [H] (broadcast
 * over S, and over B when its batch is 1). Differentiable; other shapes take the stock ops.
 */
export function addRowsRelu(x: tf.Tensor3D, rows: tf.Tensor[]): tf.Tensor3D {
  if (fusedKernelsActive() && rowsReluShape(x, rows)) {
    const inputs: tf.NamedTensorMap =
      rows.length === 2 ? { x, r0: rows[0], r1: rows[1] } : { x, r0: rows[0] };
    const attrs: RowsReluAttrs = { xShape: x.shape, r0Shape: rows[0].shape, r1Shape: rows[1]?.shape ?? [] };
    return tf.engine().runKernel(ADD_ROWS_RELU, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor3D;
  }
  return tf.relu(rows.reduce<tf.Tensor>((acc, r) => tf.add(acc, r), x)) as tf.Tensor3D;
}
