/**
 * What the native kernels (native-kernels.ts, the fused ops in ops/) share: a BatchMatMul's
 * shapes in the addon's terms, and running an addon function on a backend's tensor memory (the
 * wasm heap or the cpu backend's Float32Arrays) without copying.
 */
import * as tf from '@tensorflow/tfjs-core';

type Info = tf.TensorInfo;

/** A product op(a) op(b) in the addon's terms: batches (1 broadcasts), m x k times k x n. */
export interface MatMulPlan {
  batchA: number;
  batchB: number;
  m: number;
  k: number;
  n: number;
  outShape: number[];
}

/** Shapes of a BatchMatMul in the addon's terms, or undefined when it must take the stock path. */
export function matMulPlan(
  a: Info,
  b: Info,
  transposeA: boolean,
  transposeB: boolean,
): MatMulPlan | undefined {
  if (a.dtype !== 'float32' || b.dtype !== 'float32') return undefined;
  const ar = a.shape.length;
  const br = b.shape.length;
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const m = transposeA ? a.shape[ar - 1] : a.shape[ar - 2];
  const k = transposeA ? a.shape[ar - 2] : a.shape[ar - 1];
  const n = transposeB ? b.shape[br - 2] : b.shape[br - 1];
  const kb = transposeB ? b.shape[br - 1] : b.shape[br - 2];
  // Mixed broadcasting ([2,1,..] x [1,3,..]), empty or mismatched shapes: let the stock kernel
  // handle (or reject) them.
  if (k !== kb || m * k * n === 0) return undefined;
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  if (batchA !== batchB && ar > 3 && br > 3) return undefined;
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return { batchA, batchB, m, k, n, outShape: [...outer, m, n] };
}

interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): Info;
  typedArrayFromHeap(t: Info): Float32Array;
}
interface CpuBackend {
  data: { get(dataId: unknown): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): Info;
}

/**
 * Allocates a float32 output of `outShape` on `backendName` ('wasm' or 'cpu') and calls
 * `fn(inputViews, outView)` on views of the tensors' memory. Undefined (nothing allocated) when
 * an input's values are not a Float32Array (the caller then takes the stock path).
 */
export function runOnBackendMemory(
  backendName: string,
  backend: unknown,
  inputs: Info[],
  outShape: number[],
  fn: (inputs: Float32Array[], out: Float32Array) => void,
): Info | undefined {
  if (backendName === 'wasm') {
    const wasm = backend as WasmBackend;
    // Allocate first: growing the wasm heap detaches views taken earlier.
    const out = wasm.makeOutput(outShape, 'float32');
    fn(
      inputs.map((t) => wasm.typedArrayFromHeap(t)),
      wasm.typedArrayFromHeap(out),
    );
    return out;
  }
  const cpu = backend as CpuBackend;
  const views = inputs.map((t) => cpu.data.get(t.dataId).values);
  if (!views.every((v): v is Float32Array => v instanceof Float32Array)) return undefined;
  const out = new Float32Array(tf.util.sizeFromShape(outShape));
  fn(views, out);
  return cpu.makeTensorInfo(outShape, 'float32', out);
}
