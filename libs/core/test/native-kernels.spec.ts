/**
 * The native BatchMatMul (native/batch_matmul.cc) against a float64 reference, on both backends
 * it serves, for every layout the micro-kernel distinguishes (transposes, broadcast batches,
 * row/column/depth tails), and the fallback to the stock kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, useNativeKernels } from '../src';
import { Rng } from '../src/rng';
import { expectNoTensorGrowth } from './fixtures';

const rng = new Rng(5);
function rand(shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(
    Float32Array.from({ length: n }, () => rng.next() * 2 - 1),
    shape,
  );
}

/** op(a[s]) * op(b[s]) in float64 with plain loops, broadcasting a batch of 1. */
function reference(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): Float64Array {
  const [ba, r1, c1] = [a.shape.length === 3 ? a.shape[0] : 1, a.shape.at(-2)!, a.shape.at(-1)!];
  const [bb, r2, c2] = [b.shape.length === 3 ? b.shape[0] : 1, b.shape.at(-2)!, b.shape.at(-1)!];
  const [m, k] = ta ? [c1, r1] : [r1, c1];
  const n = tb ? r2 : c2;
  const av = a.dataSync();
  const bv = b.dataSync();
  const batch = Math.max(ba, bb);
  const out = new Float64Array(batch * m * n);
  for (let s = 0; s < batch; s++) {
    const ao = ba === 1 ? 0 : s * r1 * c1;
    const bo = bb === 1 ? 0 : s * r2 * c2;
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const x = av[ao + (ta ? p * c1 + i : i * c1 + p)];
          const y = bv[bo + (tb ? j * c2 + p : p * c2 + j)];
          sum += x * y;
        }
        out[(s * m + i) * n + j] = sum;
      }
  }
  return out;
}

/** [aShape, bShape, transposeA, transposeB]: m, n and k chosen to hit every tail of the kernel. */
const CASES: [number[], number[], boolean, boolean][] = [
  [[3, 20, 37], [3, 37, 64], false, false], // full 4x16 tiles, k with no multiple of 8
  [[3, 7, 33], [3, 33, 21], false, false], // row tail (7 = 4 + 3), column tail (21 = 16 + 5)
  [[2, 9, 40], [2, 40, 1], false, false], // one output unit: the dot-product tail
  [[2, 33, 9], [2, 33, 18], true, false], // transposed a
  [[2, 6, 24], [2, 19, 24], false, true], // transposed b
  [[2, 13, 5], [2, 17, 13], true, true], // both transposed
  [[1, 6, 16], [4, 16, 32], false, false], // a broadcast over b's batch
  [[4, 6, 16], [16, 3], false, false], // shared b (rank 2)
  [[5, 16], [16, 48], false, false], // plain 2-D
  [[16, 5], [3, 16], true, true], // 2-D, both transposed
  // Above minParallelWork (2.1M) multiply-accumulates the work is split over the threads: by
  // batch, or by rows for one product (see 'splits large products' below).
  [[8, 130, 96], [8, 96, 100], false, false],
  [[8, 130, 96], [8, 100, 96], false, true],
  [[1030, 96], [96, 100], false, false], // 1030 rows: not a multiple of the 4-row tile per thread
  [[1030, 96], [100, 96], false, true],
  [[96, 1030], [96, 100], true, false],
];

const status = useNativeKernels('cpu');
const built = status.active;
// .ci/run sets this so that a broken native build fails CI instead of skipping.
const required = process.env.WARMSTART_REQUIRE_NATIVE_KERNELS === '1';
if (!built && !required) {
  console.warn(`native-kernels.spec: native kernel tests skipped: ${status.reason}`);
}
const describeNative = built || required ? describe : describe.skip;

describeNative.each(['cpu', 'wasm'])('native BatchMatMul on %s', (backend) => {
  beforeAll(async () => {
    const choice = await initBackend({ prefer: backend });
    expect(choice.nativeKernels).toMatchObject({ active: true });
  });

  it('splits large products (the last cases above) over its threads', () => {
    const { threads, minParallelWork } = useNativeKernels(backend);
    expect(threads).toBeGreaterThanOrEqual(1);
    const work = ([as, bs, ta, tb]: (typeof CASES)[number]) =>
      as.slice(0, -2).reduce((x, y) => x * y, 1) *
      (ta ? as.at(-1)! : as.at(-2)!) *
      (ta ? as.at(-2)! : as.at(-1)!) *
      (tb ? bs.at(-2)! : bs.at(-1)!);
    CASES.slice(-5).forEach((c) => expect(work(c)).toBeGreaterThanOrEqual(minParallelWork!));
    CASES.slice(0, -5).forEach((c) => expect(work(c)).toBeLessThan(minParallelWork!));
  });
  afterAll(async () => {
    await initBackend({ prefer: 'cpu' });
  });

  it.each(CASES)('%j x %j (transposeA %s, transposeB %s) matches a float64 reference', (as, bs, ta, tb) => {
    const a = rand(as);
    const b = rand(bs);
    const got = tf.matMul(a, b, ta, tb);
    const want = reference(a, b, ta, tb);
    const stockShape = tf.tidy(() => {
      useNativeKernels(backend, false);
      const s = tf.matMul(a, b, ta, tb).shape;
      useNativeKernels(backend);
      return s;
    });
    expect(got.shape).toEqual(stockShape);
    const v = got.dataSync();
    expect(v.length).toBe(want.length);
    want.forEach((w, i) => expect(Math.abs(v[i] - w)).toBeLessThan(1e-5 * Math.max(1, Math.abs(w))));
    tf.dispose([a, b, got]);
  });

  it('gives the same gradients as the stock kernel', () => {
    const x = rand([3, 5, 12]);
    const w = rand([3, 12, 20]);
    const f = (xs: tf.Tensor, ws: tf.Tensor) =>
      tf.sum(tf.square(tf.matMul(tf.relu(tf.matMul(xs, ws)), ws, false, true)));
    const grads = () =>
      tf
        .grads(f)([x, w])
        .map((g) => Array.from(g.dataSync()));
    const native = grads();
    useNativeKernels(backend, false);
    const stock = grads();
    useNativeKernels(backend);
    native.flat().forEach((g, i) => expect(g).toBeCloseTo(stock.flat()[i], 3));
  });

  it('leaves no tensors behind across repeated products', () => {
    const a = rand([8, 20, 32]);
    const b = rand([8, 32, 16]);
    expectNoTensorGrowth(() => tf.matMul(a, b).dispose(), 50);
    tf.dispose([a, b]);
  });
});

describe('native kernel fallback', () => {
  const saved = process.env.WARMSTART_NATIVE_KERNELS;
  afterEach(async () => {
    if (saved === undefined) delete process.env.WARMSTART_NATIVE_KERNELS;
    else process.env.WARMSTART_NATIVE_KERNELS = saved;
    await initBackend({ prefer: 'cpu' });
  });

  it('WARMSTART_NATIVE_KERNELS=off restores the stock kernel and says why', async () => {
    process.env.WARMSTART_NATIVE_KERNELS = 'off';
    const choice = await initBackend({ prefer: 'wasm' });
    expect(choice.nativeKernels).toEqual({
      active: false,
      reason: 'disabled by WARMSTART_NATIVE_KERNELS',
    });
    const c = tf.matMul(tf.tensor3d([[[1, 2]]]), tf.tensor3d([[[3], [4]]]));
    expect(Array.from(c.dataSync())).toEqual([11]);
  });

  it('reports a backend it cannot serve', () => {
    expect(useNativeKernels('webgl')).toEqual({
      active: false,
      reason: 'no native kernels for the webgl backend',
    });
  });
});
