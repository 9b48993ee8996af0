/**
 * First-order gradients of the kernels the model differentiates through.
 *
 * The CommonJS build of tfjs-core ships without its gradient registry (that lives in an ESM-only
 * side-effect module pulled in by the `@tensorflow/tfjs` union package), so tf.grad would fail
 * with "gradient function not found". We register our own for exactly the kernels we use; each
 * gradient is verified against finite differences in the tests. Registered only when missing,
 * so a full tfjs (e.g. loaded by tfjs-node) keeps its own.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Sums a broadcast gradient back to the input's shape. */
function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  let r = g;
  const extra = r.rank - shape.length;
  if (extra > 0) r = tf.sum(r, [...Array(extra).keys()]);
  const axes = shape.flatMap((d, i) => (d === 1 && r.shape[i] !== 1 ? [i] : []));
  if (axes.length > 0) r = tf.sum(r, axes, true);
  return tf.reshape(r, shape);
}

function reducedAxes(axis: number | number[] | undefined | null, rank: number): number[] {
  if (axis === undefined || axis === null) return [...Array(rank).keys()];
  return (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a));
}

/** dy of a reduction, broadcast back over the reduced axes of x. */
function expandReduced(dy: tf.Tensor, x: tf.Tensor, axes: number[]): tf.Tensor {
  const keep = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  return tf.mul(tf.reshape(dy, keep), tf.onesLike(x));
}

function binary(
  kernelName: string,
  fa: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  fb: typeof fa,
): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]): Record<string, () => tf.Tensor> => {
      const [a, b] = saved;
      const d = dy as tf.Tensor;
      return { a: () => unbroadcast(fa(d, a, b), a.shape), b: () => unbroadcast(fb(d, a, b), b.shape) };
    },
  };
}

const configs: tf.GradConfig[] = [
  binary(
    tf.Add,
    (dy) => dy,
    (dy) => dy,
  ),
  binary(
    tf.Sub,
    (dy) => dy,
    (dy) => tf.neg(dy),
  ),
  binary(
    tf.Multiply,
    (dy, _a, b) => tf.mul(dy, b),
    (dy, a) => tf.mul(dy, a),
  ),
  binary(
    tf.RealDiv,
    (dy, _a, b) => tf.div(dy, b),
    (dy, a, b) => tf.neg(tf.div(tf.mul(dy, a), tf.square(b))),
  ),
  binary(
    tf.Maximum,
    (dy, a, b) => tf.mul(dy, tf.cast(tf.greaterEqual(a, b), 'float32')),
    (dy, a, b) => tf.mul(dy, tf.cast(tf.less(a, b), 'float32')),
  ),
  {
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved;
      const d = dy as tf.Tensor;
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB)
        return { a: () => tf.matMul(d, b, false, true), b: () => tf.matMul(a, d, true, false) };
      if (!transposeA && transposeB)
        return { a: () => tf.matMul(d, b), b: () => tf.matMul(d, a, true, false) };
      if (transposeA && !transposeB)
        return { a: () => tf.matMul(b, d, false, true), b: () => tf.matMul(a, d) };
      return { a: () => tf.matMul(b, d, true, true), b: () => tf.matMul(d, a, true, true) };
    },
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = reducedAxes((attrs as { axis?: number | number[] }).axis, x.rank);
      return { x: () => expandReduced(dy as tf.Tensor, x, axes) };
    },
  },
  {
    kernelName: tf.Mean,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const axes = reducedAxes((attrs as { axis?: number | number[] }).axis, x.rank);
      const n = axes.reduce((p, a) => p * x.shape[a], 1);
      return { x: () => tf.div(expandReduced(dy as tf.Tensor, x, axes), n) };
    },
  },
  {
    kernelName: tf.Square,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(x, 2)) }),
  },
  { kernelName: tf.Neg, gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }) },
  // The Bayesian head's positive parameters (exp of log precision and noise) and its Gaussian NLL.
  {
    kernelName: tf.Exp,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as tf.Tensor, y) }),
  },
  {
    kernelName: tf.Log,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.div(dy as tf.Tensor, x) }),
  },
  {
    kernelName: tf.Softplus,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.sigmoid(x)) }),
  },
  {
    kernelName: tf.Sigmoid,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.mul(y, tf.sub(1, y))) }),
  },
  {
    kernelName: tf.Relu,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.mul(dy as tf.Tensor, tf.step(x)) }),
  },
  // Piecewise constant: zero gradient (the relu mask of the hand-written backward pass).
  { kernelName: tf.Step, gradFunc: (dy) => ({ x: () => tf.zerosLike(dy as tf.Tensor) }) },
  { kernelName: tf.Identity, gradFunc: (dy) => ({ x: () => tf.clone(dy as tf.Tensor) }) },
  {
    kernelName: tf.Cast,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({
      x: () => (x.dtype === 'float32' ? tf.clone(dy as tf.Tensor) : tf.zerosLike(x)),
    }),
  },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as tf.Tensor, x.shape) }),
  },
  {
    kernelName: tf.ExpandDims,
    inputsToSave: ['input'],
    gradFunc: (dy, [x]) => ({ input: () => tf.reshape(dy as tf.Tensor, x.shape) }),
  },
  {
    kernelName: tf.Transpose,
    gradFunc: (dy, _saved, attrs) => {
      const perm = (attrs as unknown as { perm: number[] }).perm;
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return { x: () => tf.transpose(dy as tf.Tensor, inverse) };
    },
  },
  {
    kernelName: tf.Tile,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      // dy index along an axis is rep * d + i: split each axis into [reps, d] and sum the reps.
      const reps = (attrs as unknown as { reps: number[] }).reps;
      const split = x.shape.flatMap((d, i) => [reps[i], d]);
      const repAxes = x.shape.map((_, i) => 2 * i);
      return { x: () => tf.reshape(tf.sum(tf.reshape(dy as tf.Tensor, split), repAxes), x.shape) };
    },
  },
  {
    kernelName: tf.Slice,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { begin, size } = attrs as unknown as { begin: number[]; size: number[] };
      const pads = x.shape.map((d, i): [number, number] => {
        const s = size[i] === -1 ? d - begin[i] : size[i];
        return [begin[i], d - begin[i] - s];
      });
      return { x: () => tf.pad(dy as tf.Tensor, pads) };
    },
  },
  {
    // Padding's gradient is the slice of dy over the input (and Slice's is a pad: second order).
    kernelName: tf.PadV2,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { paddings } = attrs as unknown as { paddings: [number, number][] };
      return {
        x: () =>
          tf.slice(
            dy as tf.Tensor,
            paddings.map((p) => p[0]),
            x.shape,
          ),
      };
    },
  },
  {
    kernelName: tf.Concat,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const d = dy as tf.Tensor;
      let axis = (attrs as unknown as { axis: number }).axis;
      if (axis < 0) axis += d.rank;
      const parts = tf.split(
        d,
        saved.map((t) => t.shape[axis]),
        axis,
      );
      // Concat's inputs are keyed by position.
      return Object.fromEntries(parts.map((p, i) => [String(i), () => p]));
    },
  },
  {
    kernelName: tf.GatherV2,
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, [x, indices], attrs) => {
      const { axis, batchDims } = attrs as unknown as { axis: number; batchDims: number };
      if ((axis !== 0 && axis !== -x.rank) || batchDims)
        throw new Error('GatherV2 gradient: only axis 0 is supported');
      // One-hot scatter-add (UnsortedSegmentSum is missing from the wasm backend).
      const cols = x.size / x.shape[0];
      const flat = tf.reshape(indices, [-1]) as tf.Tensor1D;
      const rows = tf.reshape(dy as tf.Tensor, [flat.shape[0], cols]);
      const g = tf.matMul(tf.oneHot(flat, x.shape[0]), rows as tf.Tensor2D, true, false);
      return { x: () => tf.reshape(g, x.shape), indices: () => tf.zerosLike(indices) };
    },
  },
];

let registered = false;

/** Registers the gradients above where none is registered yet (idempotent). */
export function registerGradients(): void {
  if (registered) return;
  registered = true;
  for (const c of configs) if (!tf.getGradient(c.kernelName)) tf.registerGradient(c);
}

registerGradients();
