/**
 * Where batched adaptation's time goes when every decision layer is adapted per user (MeLU).
 *
 * Per-user weights turn every matMul into a stack of small products. This measures the backend's
 * multiply-accumulate rate for one large 2-D matMul (shared weights) and for the batched
 * per-user product of the same total size, and counts the matMul work of one batched adaptation
 * from the model's layer widths, so the bench can print the rate the adaptation achieves on it.
 * (With tfjs's stock wasm kernel the batched product ran 7-10x slower than the 2-D one; with
 * warmstart's native kernel the two rates are about equal.)
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RecommenderModel } from '@warmstart/core';
import { timeMs } from './figures';

/** Multiply-accumulates per second (in GMAC/s) of `fn`, which performs `macs` of them per call. */
async function rate(macs: number, reps: number, fn: () => tf.Tensor): Promise<number> {
  fn().dispose(); // warm-up: kernel set-up and memory growth
  const ms = await timeMs(() => {
    for (let i = 0; i < reps; i++) {
      const y = fn();
      y.dataSync(); // wait for the result (synchronous on wasm/cpu, needed on GPU backends)
      y.dispose();
    }
  });
  return (macs * reps) / (ms / 1000) / 1e9;
}

/**
 * GMAC/s of [users * rows, width] x [width, width] (one 2-D matMul, shared weights) and of
 * [users, rows, width] x [users, width, width] (one batched matMul, per-user weights).
 */
export async function matMulRates(
  users: number,
  rows: number,
  width: number,
  reps: number,
): Promise<{ twoD: number; batched: number }> {
  const macs = users * rows * width * width;
  const x = tf.randomNormal([users, rows, width], 0, 1, 'float32', 1);
  const x2 = tf.reshape(x, [users * rows, width]) as tf.Tensor2D;
  const shared = tf.randomNormal([width, width], 0, 1, 'float32', 2) as tf.Tensor2D;
  const perUser = tf.randomNormal([users, width, width], 0, 1, 'float32', 3) as tf.Tensor3D;
  try {
    return {
      twoD: await rate(macs, reps, () => tf.matMul(x2, shared)),
      batched: await rate(macs, reps, () => tf.matMul(x as tf.Tensor3D, perUser)),
    };
  } finally {
    tf.dispose([x, x2, shared, perUser]);
  }
}

/**
 * MatMul multiply-accumulates of one inner step for one user with `support` rows when the
 * decision layers and the output layer are adapted: the forward pass, the gradient of every
 * adapted weight, and the backward pass through every layer but the first (embeddings are shared,
 * so no gradient flows into them). Biases and element-wise work are left out: this is a floor.
 */
export function decisionStepMacs(l: RecommenderModel['layout'], support: number): number {
  const itemWidth = l.itemFields.length * l.e + l.idDim;
  const h = l.hidden;
  // First layer: item rows per support row (forward and weight gradient). The user rows cost no
  // product per step: adapt() moves u @ dec.0.wu in closed form (innerLoop's collapseUserRows).
  let macs = 2 * support * itemWidth * h[0];
  // Hidden layers after the first: forward, weight gradient, gradient of the layer's input.
  for (let i = 1; i < h.length; i++) macs += 3 * support * h[i - 1] * h[i];
  // Output layer (one unit): the same three products.
  macs += 3 * support * h[h.length - 1];
  return macs;
}
