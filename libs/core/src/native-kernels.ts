/**
 * Native matrix products for the wasm and cpu backends.
 *
 * The stock wasm BatchMatMul is fast (XNNPACK) only for a plain 2-D product; a transposed
 * operand (every backward pass of a dense layer) or a batch of per-user weights (batched
 * adaptation) takes a naive loop at ~0.5 GMAC/s. The addon built from `native/batch_matmul.cc`
 * at install time computes every float32 BatchMatMul with a register-blocked AVX2/FMA
 * micro-kernel instead. It is optional: when it did not build, or WARMSTART_NATIVE_KERNELS=off,
 * the stock kernels run and {@link NativeKernels.reason} says why.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { Addon } from './native-addon';
import { matMulPlan, runOnBackendMemory } from './native-heap';
import { registerFusedKernels, unregisterFusedKernels } from './ops/register-fused';

/** Whether the native kernels serve the active backend, and why not when they do not. */
export interface NativeKernels {
  active: boolean;
  /** Threads a large product is split over (when active). */
  threads?: number;
  /** Products of at least this many multiply-accumulates use the threads (when active). */
  minParallelWork?: number;
  /** Why the stock kernels run (absent when active). */
  reason?: string;
}

/** Backends the addon can serve: their tensors live in memory a Float32Array can view. */
const SUPPORTED = ['wasm', 'cpu'];
const ADDON_PATH = path.resolve(__dirname, '../native/build/Release/warmstart_kernels.node');

let addon: Addon | string | undefined;
/** Stock kernel configs replaced by ours, by backend, so they can be restored. */
const replaced = new Map<string, tf.KernelConfig>();

/** The addon, or why it is not available (loaded once). */
function loadAddon(): Addon | string {
  if (addon === undefined) {
    try {
      // A native module path is only known at run time, so a plain require is intended here.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      addon = require(ADDON_PATH) as Addon;
    } catch (err) {
      const first = err instanceof Error ? err.message.split('\n')[0] : String(err);
      addon = `native kernels not built (${first}); run \`npm rebuild @warmstart/core\``;
    }
  }
  return addon;
}

function disabledByEnv(): boolean {
  return /^(off|0|false)$/i.test(process.env.WARMSTART_NATIVE_KERNELS ?? '');
}

type Info = tf.TensorInfo;

function nativeKernel(lib: Addon, backendName: string, stock: tf.KernelConfig): tf.KernelFunc {
  return (args) => {
    const { a, b } = args.inputs as { a: Info; b: Info };
    const { transposeA, transposeB } = args.attrs as { transposeA: boolean; transposeB: boolean };
    const p = matMulPlan(a, b, transposeA, transposeB);
    if (!p) return stock.kernelFunc(args);
    const out = runOnBackendMemory(backendName, args.backend, [a, b], p.outShape, ([av, bv], o) =>
      lib.batchMatMul(av, bv, o, p.batchA, p.batchB, p.m, p.k, p.n, transposeA, transposeB),
    );
    return out ?? stock.kernelFunc(args);
  };
}

/** Whether BatchMatMul on the active backend runs the native kernel (transposes are then free). */
export function nativeMatMulActive(): boolean {
  return replaced.has(tf.getBackend());
}

/**
 * Routes BatchMatMul on `backendName` to the native kernel (or back to the stock one when
 * `enable` is false, WARMSTART_NATIVE_KERNELS=off, or the addon is missing). Idempotent;
 * {@link initBackend} calls it for the backend it picks.
 */
export function useNativeKernels(backendName: string, enable = true): NativeKernels {
  const stock = replaced.get(backendName);
  if (stock) {
    tf.unregisterKernel(tf.BatchMatMul, backendName);
    tf.registerKernel(stock);
    replaced.delete(backendName);
    unregisterFusedKernels(backendName);
  }
  if (!enable) return { active: false, reason: 'disabled by the caller' };
  if (!SUPPORTED.includes(backendName)) {
    return { active: false, reason: `no native kernels for the ${backendName} backend` };
  }
  if (disabledByEnv()) return { active: false, reason: 'disabled by WARMSTART_NATIVE_KERNELS' };
  const lib = loadAddon();
  if (typeof lib === 'string') return { active: false, reason: lib };
  const config = tf.getKernel(tf.BatchMatMul, backendName);
  if (!config) return { active: false, reason: `${backendName} has no BatchMatMul kernel` };
  tf.unregisterKernel(tf.BatchMatMul, backendName);
  tf.registerKernel({ ...config, setupFunc: undefined, kernelFunc: nativeKernel(lib, backendName, config) });
  replaced.set(backendName, config);
  registerFusedKernels(lib, backendName);
  return { active: true, threads: lib.threads, minParallelWork: lib.minParallelWork };
}

/**
 * out = a @ b for host arrays (a [m, k], b [k, n], out [m, n], row-major), outside any backend:
 * the native kernel when it is built and not disabled (WARMSTART_NATIVE_KERNELS=off), else a
 * plain loop. For products too small or too many to be worth a tensor each (a first-stage scan
 * over many catalog pages).
 */
export function hostMatMul(
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  m: number,
  k: number,
  n: number,
): void {
  const lib = disabledByEnv() ? undefined : loadAddon();
  if (lib !== undefined && typeof lib !== 'string') {
    lib.batchMatMul(a, b, out, 1, 1, m, k, n, false, false);
    return;
  }
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let c = 0; c < k; c++) s += (a[i * k + c] as number) * (b[c * n + j] as number);
      out[i * n + j] = s;
    }
  }
}

/** Rows stored in IEEE half precision for a memory-bound scan (see {@link hostToHalf}). */
export interface HalfRows {
  values: Uint16Array;
  width: number;
  /** The largest Euclidean norm of a row (of the float32 values): bounds the rounding error. */
  maxRowNorm: number;
}

/** The largest half; rows holding a value this large or larger are refused (from 65520 they round to infinity). */
const MAX_HALF = 65504;

/**
 * A half-precision copy of `values` (row-major, `width` per row) for {@link hostHalfMatVec}, or
 * null when the native kernels are not available (a plain loop over halves would be slower than
 * the float32 scan) or a value is too large or not a number.
 */
export function hostToHalf(values: Float32Array, width: number): HalfRows | null {
  const lib = disabledByEnv() ? undefined : loadAddon();
  if (lib === undefined || typeof lib === 'string') return null;
  const half = new Uint16Array(values.length);
  if (!(lib.toHalf(values, half) < MAX_HALF)) return null;
  let maxRowNorm = 0;
  for (let r = 0; r < values.length; r += width) {
    let sq = 0;
    for (let c = r; c < r + width; c++) sq += (values[c] as number) * (values[c] as number);
    if (sq > maxRowNorm) maxRowNorm = sq;
  }
  return { values: half, width, maxRowNorm: Math.sqrt(maxRowNorm) };
}

/**
 * out = a . x for half-precision rows (a [m, k] from {@link hostToHalf}, x [k]), accumulated in
 * float32 on the native kernel. Each result differs from the float32 product of the original
 * rows by at most {@link halfScanError}.
 */
export function hostHalfMatVec(
  a: Uint16Array,
  x: Float32Array,
  out: Float32Array,
  m: number,
  k: number,
): void {
  const lib = loadAddon();
  if (typeof lib === 'string') throw new Error(lib);
  lib.halfMatVec(a, x, out, m, k);
}

/**
 * A bound on |half-row . x - float32-row . x| for rows of norm at most `maxRowNorm` and length
 * k <= 128: each value's rounding to a half (at most 2^-11 of it, or 2^-25 below the smallest
 * normal half) gives at most 2^-11 sum |x_j row_j| <= 2^-11 |x| |row| (Cauchy-Schwarz), and each
 * product's float32 accumulation at most k 2^-24 / (1 - k 2^-24) of that sum (under 2^-16.9 for
 * the two), so 1.05 * 2^-11 covers both.
 */
export function halfScanError(x: Float32Array, maxRowNorm: number): number {
  let l1 = 0;
  let l2 = 0;
  for (const v of x) {
    l1 += Math.abs(v);
    l2 += v * v;
  }
  return 1.05 * 2 ** -11 * Math.sqrt(l2) * maxRowNorm + 2 ** -25 * l1;
}

let rowsScratch = new Int32Array(0);

/**
 * The indices of the values at or above `cut` (never -Infinity: excluded rows; never NaN), in
 * order: the native kernel's vector compare when it is available, else a loop.
 */
export function hostRowsAtLeast(values: Float32Array, cut: number): Int32Array {
  const lib = disabledByEnv() ? undefined : loadAddon();
  if (lib !== undefined && typeof lib !== 'string') {
    if (rowsScratch.length < values.length)
      rowsScratch = new Int32Array(Math.max(values.length, 2 * rowsScratch.length));
    return rowsScratch.slice(0, lib.rowsAtLeast(values, cut, rowsScratch));
  }
  const kept: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v >= cut && v > -Infinity) kept.push(i);
  }
  return Int32Array.from(kept);
}
