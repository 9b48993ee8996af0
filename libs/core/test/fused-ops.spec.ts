/**
 * The fused ops of the inner loop (src/ops/) on the native addon, on both backends it
 * serves: matMulAcc = c + alpha * op(a) op(b) against a float64 reference (broadcast and per-batch
 * c, transposes, products split over threads), reluGrad against dy * step(z) (values and
 * gradients: second-order MAML differentiates through it; gradients.spec checks those
 * meta-gradients against finite differences with these kernels active), addRowsRelu against
 * relu(x + rows) (values and gradients, broadcast operands included), the stock compositions
 * when the native kernels are off, and no tensor growth.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, useNativeKernels } from '../src';
import { addRowsRelu, fusedKernelsActive, matMulAcc, reluGrad } from '../src/ops';
import { Rng } from '../src/rng';
import { expectNoTensorGrowth } from './fixtures';

const rng = new Rng(11);
function rand(shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.next() * 2 - 1),
    shape,
  );
}

/** c + alpha * op(a) op(b) in float64; a, b are [batch, r, c] (batch 1 broadcasts), c batch 1 or full. */
function reference(
  c: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  alpha: number,
  ta: boolean,
  tb: boolean,
): Float64Array {
  const [ba, r1, c1] = a.shape.length === 3 ? a.shape : [1, ...a.shape];
  const [bb, r2, c2] = b.shape.length === 3 ? b.shape : [1, ...b.shape];
  const [m, k] = ta ? [c1, r1] : [r1, c1];
  const n = tb ? r2 : c2;
  const [av, bv, cv] = [a.dataSync(), b.dataSync(), c.dataSync()];
  const batch = Math.max(ba, bb);
  const cBatched = cv.length === batch * m * n && batch > 1;
  const out = new Float64Array(batch * m * n);
  for (let s = 0; s < batch; s++)
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const x = av[(ba === 1 ? 0 : s * r1 * c1) + (ta ? p * c1 + i : i * c1 + p)];
          const y = bv[(bb === 1 ? 0 : s * r2 * c2) + (tb ? j * c2 + p : p * c2 + j)];
          sum += x * y;
        }
        out[(s * m + i) * n + j] = cv[(cBatched ? s * m * n : 0) + i * n + j] + alpha * sum;
      }
  return out;
}

/** [cShape, aShape, bShape, alpha, transposeA, transposeB]. */
const CASES: [number[], number[], number[], number, boolean, boolean][] = [
  [[3, 37, 21], [3, 9, 37], [3, 9, 21], -1, true, false], // the inner loop's W - x^T dy, tails
  [[37, 21], [3, 9, 37], [3, 9, 21], -1, true, false], // its first step: shared W, per-user result
  [[3, 7, 18], [3, 7, 7], [3, 7, 18], -1, false, false], // the Gram step rows - G g
  [[2, 6, 19], [2, 6, 24], [2, 19, 24], 0.5, false, true], // transposed b, another alpha
  [[64, 64], [40, 20, 64], [40, 20, 64], -1, true, false], // above minParallelWork: threaded
];

const built = useNativeKernels('cpu').active;
const required = process.env.WARMSTART_REQUIRE_NATIVE_KERNELS === '1';
if (!built && !required) console.warn('fused-ops.spec: native fused kernels skipped: the addon is not built');
const describeNative = built || required ? describe : describe.skip;

describeNative.each(['cpu', 'wasm'])('fused ops on %s', (backend) => {
  beforeAll(async () => {
    await initBackend({ prefer: backend });
    expect(fusedKernelsActive()).toBe(true);
  });
  afterAll(async () => {
    await initBackend({ prefer: 'cpu' });
  });

  it.each(CASES)(
    'matMulAcc c %j, a %j, b %j (alpha %d, ta %s, tb %s) matches a float64 reference',
    (cs, as, bs, alpha, ta, tb) => {
      const [a, b, c] = [rand(as), rand(bs), rand(cs)];
      const got = matMulAcc(c, a, b, alpha, ta, tb);
      const want = reference(c, a, b, alpha, ta, tb);
      const composed = tf.add(c, tf.mul(tf.matMul(a, b, ta, tb), alpha));
      expect(got.shape).toEqual(composed.shape);
      const v = got.dataSync();
      expect(v.length).toBe(want.length);
      want.forEach((w, i) => expect(Math.abs(v[i] - w)).toBeLessThan(1e-5 * Math.max(1, Math.abs(w))));
      tf.dispose([a, b, c, got, composed]);
    },
  );

  it('matMulAcc takes the stock composition when c does not fit the fused kernel', () => {
    const [a, b] = [rand([2, 3, 4]), rand([2, 4, 5])];
    const c = rand([2, 1, 5]); // a broadcast row: not a shape the kernel takes
    const got = matMulAcc(c, a, b, -1);
    const want = tf.sub(c, tf.matMul(a, b));
    expect(got.shape).toEqual([2, 3, 5]);
    want.dataSync().forEach((w, i) => expect(got.dataSync()[i]).toBeCloseTo(w, 5));
    tf.dispose([a, b, c, got, want]);
  });

  it('reluGrad equals dy * step(z), and so does its gradient', () => {
    const dy = rand([3, 5, 7]);
    const z = rand([3, 5, 7]);
    const w = rand([3, 5, 7]);
    const fused = reluGrad(dy, z);
    const stock = tf.mul(dy, tf.step(z));
    const plain = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => v + 0); // -0 (from dy * 0) is 0
    expect(plain(fused)).toEqual(plain(stock));
    // f(d) = sum(w * relu'(z) * d)^2: its gradient in d goes through reluGrad's registered gradient.
    const f = (op: (d: tf.Tensor) => tf.Tensor) => (d: tf.Tensor) => tf.sum(tf.square(tf.mul(w, op(d))));
    const g1 = tf.grad(f((d) => reluGrad(d, z)))(dy);
    const g2 = tf.grad(f((d) => tf.mul(d, tf.step(z))))(dy);
    g2.dataSync().forEach((v, i) => expect(g1.dataSync()[i]).toBeCloseTo(v, 5));
    tf.dispose([dy, z, w, fused, stock, g1, g2]);
  });

  /** [xShape, rowShapes]: per-user and shared rows, one or two, x broadcast over the users. */
  const ROWS: [number[], number[][]][] = [
    [[3, 5, 7], [[3, 1, 7]]],
    [
      [3, 5, 7],
      [[3, 1, 7], [7]],
    ],
    [
      [1, 5, 7],
      [
        [3, 1, 7],
        [3, 1, 7],
      ],
    ], // scoring: shared items, per-user first-layer halves
    [
      [40, 20, 64],
      [[40, 1, 64], [64]],
    ], // above the threaded size
  ];

  it.each(ROWS)('addRowsRelu x %j, rows %j equals relu(x + rows), gradients included', (xs, rs) => {
    const x = rand(xs) as tf.Tensor3D;
    const rows = rs.map(rand);
    const w = rand([Math.max(xs[0], ...rs.map((r) => (r.length === 3 ? r[0] : 1))), xs[1], xs[2]]);
    const stock = (xt: tf.Tensor3D, rt: tf.Tensor[]) =>
      tf.relu(rt.reduce<tf.Tensor>((a, r) => tf.add(a, r), xt));
    const got = addRowsRelu(x, rows);
    const want = stock(x, rows);
    expect(got.shape).toEqual(want.shape);
    want.dataSync().forEach((v, i) => expect(got.dataSync()[i]).toBeCloseTo(v, 5));
    // Gradients with respect to x and every row (summed over the axes each was broadcast along).
    const loss =
      (op: typeof stock) =>
      (...args: tf.Tensor[]) =>
        tf.sum(tf.mul(w, tf.square(op(args[0] as tf.Tensor3D, args.slice(1)))));
    const gFused = tf.grads(loss((a, b) => addRowsRelu(a, b)))([x, ...rows]);
    const gStock = tf.grads(loss(stock))([x, ...rows]);
    gFused.forEach((g, k) => {
      expect(g.shape).toEqual(gStock[k].shape);
      gStock[k].dataSync().forEach((v, i) => expect(g.dataSync()[i]).toBeCloseTo(v, 4));
    });
    tf.dispose([x, ...rows, w, got, want, ...gFused, ...gStock]);
  });

  it('leaves no tensors behind across repeated calls', () => {
    const [a, b, c, row] = [rand([4, 6, 8]), rand([4, 6, 5]), rand([8, 5]), rand([5])];
    expectNoTensorGrowth(() => {
      matMulAcc(c, a, b, -1, true).dispose();
      reluGrad(b, b).dispose();
      addRowsRelu(b as tf.Tensor3D, [row]).dispose();
    }, 20);
    tf.dispose([a, b, c, row]);
  });
});

describe('fused ops without the native kernels', () => {
  afterAll(async () => {
    useNativeKernels('cpu');
    await initBackend({ prefer: 'cpu' });
  });

  it('fall back to the stock compositions with the same results', async () => {
    await initBackend({ prefer: 'cpu' });
    useNativeKernels('cpu', false);
    expect(fusedKernelsActive()).toBe(false);
    const [a, b, c] = [rand([2, 3, 4]), rand([2, 3, 5]), rand([4, 5])];
    const got = matMulAcc(c, a, b, -1, true);
    const want = reference(c, a, b, -1, true, false);
    want.forEach((w, i) => expect(got.dataSync()[i]).toBeCloseTo(w, 5));
    const r = reluGrad(b, tf.neg(b));
    const plain = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => v + 0);
    expect(plain(r)).toEqual(plain(tf.mul(b, tf.step(tf.neg(b)))));
    tf.dispose([a, b, c, got, r]);
  });
});
