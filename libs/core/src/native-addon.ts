/**
 * The native addon's interface (built from `native/batch_matmul.cc`), shared by the BatchMatMul
 * kernel that loads it (native-kernels.ts) and the fused ops that call it (ops/).
 */

/**
 * The addon: out[s] = [c[s] + alpha *] op(a[s]) * op(b[s]) for s < max(batchA, batchB), the
 * fused ReLU gradient, and its thread pool.
 */
export interface Addon {
  batchMatMul(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batchA: number,
    batchB: number,
    m: number,
    k: number,
    n: number,
    transposeA: boolean,
    transposeB: boolean,
    c?: Float32Array,
    batchC?: number,
    alpha?: number,
  ): void;
  /** out = z > 0 ? dy : 0 over equal-length arrays. */
  reluGrad(dy: Float32Array, z: Float32Array, out: Float32Array): void;
  /** out[b, i, :] = max(0, x[b, i, :] + r0[b, :] (+ r1[b, :])); a batch of 1 broadcasts. */
  addRowsRelu(
    x: Float32Array,
    xBatch: number,
    r0: Float32Array,
    r0Batch: number,
    r1: Float32Array | null,
    r1Batch: number,
    out: Float32Array,
    batch: number,
    s: number,
    h: number,
  ): void;
  /**
   * Rounds `src` to IEEE half precision into `dst` (same length; round to nearest even) and
   * returns the largest |value| (Infinity when a value does not fit a half, or is NaN).
   */
  toHalf(src: Float32Array, dst: Uint16Array): number;
  /** out = a . x for half-precision rows a [m, k] and x [k], accumulated in float32. */
  halfMatVec(a: Uint16Array, x: Float32Array, out: Float32Array, m: number, k: number): void;
  /**
   * Writes the indices i (ascending) with values[i] >= cut and values[i] > -Infinity to `out`
   * (at least values.length long) and returns how many.
   */
  rowsAtLeast(values: Float32Array, cut: number, out: Int32Array): number;
  /** Threads a large product is split over (WARMSTART_NATIVE_THREADS, else cores up to 4). */
  threads: number;
  /** Products of at least this many multiply-accumulates are split over the threads. */
  minParallelWork: number;
}
