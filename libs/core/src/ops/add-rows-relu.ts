/**
 * addRowsRelu: relu(x + rows...), a dense layer's bias (and the first layer's user half) and its
 * ReLU in one pass instead of three.
 */
import * as tf from '@tensorflow/tfjs-core';
import { runOnBackendMemory } from '../native-heap';
import { checkedOutput, fusedKernelsActive, type FusedKernel } from './fused-kernel';
import { reluGrad } from './relu-grad';

const ADD_ROWS_RELU = 'WarmstartAddRowsRelu';

type Info = tf.TensorInfo;

/** The operands' shapes of relu(x + rows), for its gradient ([] when there is no r1). */
interface RowsReluAttrs {
  xShape: number[];
  r0Shape: number[];
  r1Shape: number[];
}

export const addRowsReluKernel: FusedKernel = {
  kernelName: ADD_ROWS_RELU,
  kernelFunc:
    (lib, backendName) =>
    ({ inputs, backend }) => {
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
      return checkedOutput(ADD_ROWS_RELU, out);
    },
  // The ReLU gradient (out > 0 exactly where the pre-activation is), summed over the axes each
  // operand was broadcast along.
  gradient: {
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
  },
};

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
