/**
 * What each fused op (matmul-acc.ts, relu-grad.ts, add-rows-relu.ts) hands to the registration
 * in register-fused.ts, and the backends they are registered on, which each op checks before
 * taking its kernel rather than the stock ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Addon } from '../native-addon';

/** A fused op's kernel, built on the addon for one backend, and its gradient if it has one. */
export interface FusedKernel {
  kernelName: string;
  kernelFunc(lib: Addon, backendName: string): tf.KernelFunc;
  gradient?: tf.GradConfig;
}

/** Backends on which the fused kernels are registered (filled by register-fused.ts). */
export const fusedBackends = new Set<string>();

/** Whether the fused kernels serve the active backend. */
export function fusedKernelsActive(): boolean {
  return fusedBackends.has(tf.getBackend());
}

/** Throws when the addon could not run a fused kernel on its inputs. */
export function checkedOutput(kernelName: string, out: tf.TensorInfo | undefined): tf.TensorInfo {
  if (!out) throw new Error(`${kernelName}: inputs are not float32 arrays`);
  return out;
}
