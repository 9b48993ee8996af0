/** Each gradient registered by src/gradients.ts against central finite differences. */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src';
import { Rng } from '../src/rng';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const rng = new Rng(17);
/** Values in ±[0.3, 1.3], away from the kinks of relu/maximum at 0. */
function rand(shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Array.from({ length: n }, () => (rng.next() < 0.5 ? -1 : 1) * (0.3 + rng.next())),
    shape,
  );
}

/** Checks d/dx_i of sum(f(xs) * w) for every input against central differences. */
function check(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): void {
  const w = tf.tidy(() => rand(f(...xs).shape));
  const loss = (...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), w));
  const grads = tf.grads(loss)(xs);
  const eps = 1e-2;
  xs.forEach((x, k) => {
    const base = x.dataSync().slice();
    const g = grads[k].dataSync();
    for (let i = 0; i < base.length; i++) {
      const at = (d: number) =>
        tf.tidy(() => {
          const v = base.slice();
          v[i] += d;
          const args = xs.map((t, j) => (j === k ? tf.tensor(v, x.shape) : t));
          return loss(...args).dataSync()[0];
        });
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      expect(Math.abs(g[i] - fd)).toBeLessThan(2e-2 * Math.max(1, Math.abs(fd)));
    }
  });
  tf.dispose([...grads, w]);
}

describe('registered kernel gradients', () => {
  it('broadcasting binary ops', () => {
    check((a, b) => tf.add(a, b), [rand([2, 3, 4]), rand([4])]);
    check((a, b) => tf.sub(a, b), [rand([2, 1, 4]), rand([2, 3, 1])]);
    check((a, b) => tf.mul(a, b), [rand([3, 4]), rand([1, 4])]);
    check((a, b) => tf.div(a, b), [rand([3, 4]), rand([3, 1])]);
    check((a, b) => tf.maximum(a, b), [rand([3, 4]), rand([3, 4])]);
  });

  it('matMul in every transpose combination, rank 2 and 3', () => {
    for (const [ta, tb] of [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ] as const) {
      const a2 = rand(ta ? [4, 3] : [3, 4]);
      const b2 = rand(tb ? [2, 4] : [4, 2]);
      check((a, b) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, ta, tb), [a2, b2]);
      const a3 = rand(ta ? [2, 4, 3] : [2, 3, 4]);
      const b3 = rand(tb ? [2, 2, 4] : [2, 4, 2]);
      check((a, b) => tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb), [a3, b3]);
    }
  });

  it('reductions and unary ops', () => {
    check((x) => tf.sum(x, 1), [rand([2, 3, 4])]);
    check((x) => tf.sum(x, [0, 2], true), [rand([2, 3, 4])]);
    check((x) => tf.mean(x), [rand([2, 3])]);
    check((x) => tf.mean(x, -1), [rand([2, 3])]);
    check((x) => tf.square(x), [rand([5])]);
    check((x) => tf.neg(x), [rand([5])]);
    check((x) => tf.softplus(x), [rand([5])]);
    check((x) => tf.sigmoid(x), [rand([5])]);
    check((x) => tf.relu(x), [rand([6])]);
    check((x) => tf.exp(x), [rand([5])]);
    check((x) => tf.log(tf.square(x)), [rand([5])]);
  });

  it('shape ops', () => {
    check((x) => tf.reshape(x, [3, 2]), [rand([2, 3])]);
    check((x) => tf.expandDims(x, 1), [rand([2, 3])]);
    check((x) => tf.transpose(x, [2, 0, 1]), [rand([2, 3, 4])]);
    check((x) => tf.tile(x, [2, 1, 3]), [rand([2, 1, 2])]);
    check((x) => tf.slice(x, [0, 1, 0], [-1, 2, -1]), [rand([2, 4, 3])]);
    check((a, b) => tf.concat([a, b], 2), [rand([2, 3, 1]), rand([2, 3, 2])]);
    check(
      (x) =>
        tf.pad(x, [
          [1, 2],
          [0, 3],
        ]),
      [rand([2, 3])],
    );
    check((x) => tf.gather(x, tf.tensor2d([0, 2, 2, 1], [2, 2], 'int32')), [rand([3, 2])]);
  });

  it('step has a zero gradient', () => {
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.step(x)))(rand([4]));
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0]);
  });
});
