/**
 * Fused operations for the inner loop, run by the native addon where it serves the backend and
 * composed from stock ops (same results) elsewhere: matMulAcc (matmul-acc.ts), reluGrad
 * (relu-grad.ts) and addRowsRelu (add-rows-relu.ts). On the wasm backend each pass over a
 * [B, S, H] activation costs about as much as the arithmetic, so fewer passes is what makes large
 * batches cheaper per user. This file registers their kernels next to the native BatchMatMul.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Addon } from '../native-addon';
import { addRowsReluKernel } from './add-rows-relu';
import { fusedBackends } from './fused-kernel';
import { matMulAccKernel } from './matmul-acc';
import { reluGradKernel } from './relu-grad';

const FUSED = [matMulAccKernel, reluGradKernel, addRowsReluKernel];

let gradientsRegistered = false;

/** Registers the fused kernels on `backendName` (called when the native BatchMatMul is installed). */
export function registerFusedKernels(lib: Addon, backendName: string): void {
  if (fusedBackends.has(backendName)) return;
  for (const k of FUSED)
    tf.registerKernel({ kernelName: k.kernelName, backendName, kernelFunc: k.kernelFunc(lib, backendName) });
  // A gradient is per kernel name, not per backend: registered once.
  if (!gradientsRegistered) {
    for (const k of FUSED) if (k.gradient) tf.registerGradient(k.gradient);
    gradientsRegistered = true;
  }
  fusedBackends.add(backendName);
}

/** Removes the fused kernels from `backendName` (the stock compositions then run). */
export function unregisterFusedKernels(backendName: string): void {
  if (!fusedBackends.delete(backendName)) return;
  for (const k of FUSED) tf.unregisterKernel(k.kernelName, backendName);
}
