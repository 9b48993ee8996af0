/**
 * First-order gradients of the kernels the model differentiates through, one kernel per file.
 *
 * The CommonJS build of tfjs-core ships without its gradient registry (that lives in an ESM-only
 * side-effect module pulled in by the `@tensorflow/tfjs` union package), so tf.grad would fail
 * with "gradient function not found". We register our own for exactly the kernels we use; each
 * gradient is verified against finite differences in the tests. Registered only when missing,
 * so a full tfjs (e.g. loaded by tfjs-node) keeps its own.
 */
import * as tf from '@tensorflow/tfjs-core';
import { addGradConfig } from './add';
import { batchMatMulGradConfig } from './batch-mat-mul';
import { castGradConfig } from './cast';
import { concatGradConfig } from './concat';
import { expGradConfig } from './exp';
import { expandDimsGradConfig } from './expand-dims';
import { gatherV2GradConfig } from './gather-v2';
import { identityGradConfig } from './identity';
import { logGradConfig } from './log';
import { maximumGradConfig } from './maximum';
import { meanGradConfig } from './mean';
import { multiplyGradConfig } from './multiply';
import { negGradConfig } from './neg';
import { padV2GradConfig } from './pad-v2';
import { realDivGradConfig } from './real-div';
import { reluGradConfig } from './relu';
import { reshapeGradConfig } from './reshape';
import { sigmoidGradConfig } from './sigmoid';
import { sliceGradConfig } from './slice';
import { softplusGradConfig } from './softplus';
import { squareGradConfig } from './square';
import { stepGradConfig } from './step';
import { subGradConfig } from './sub';
import { sumGradConfig } from './sum';
import { tileGradConfig } from './tile';
import { transposeGradConfig } from './transpose';

const configs: tf.GradConfig[] = [
  addGradConfig,
  subGradConfig,
  multiplyGradConfig,
  realDivGradConfig,
  maximumGradConfig,
  batchMatMulGradConfig,
  sumGradConfig,
  meanGradConfig,
  squareGradConfig,
  negGradConfig,
  expGradConfig,
  logGradConfig,
  softplusGradConfig,
  sigmoidGradConfig,
  reluGradConfig,
  stepGradConfig,
  identityGradConfig,
  castGradConfig,
  reshapeGradConfig,
  expandDimsGradConfig,
  transposeGradConfig,
  tileGradConfig,
  sliceGradConfig,
  padV2GradConfig,
  concatGradConfig,
  gatherV2GradConfig,
];

let registered = false;

/** Registers the gradients above where none is registered yet (idempotent). */
export function registerGradients(): void {
  if (registered) return;
  registered = true;
  for (const c of configs) if (!tf.getGradient(c.kernelName)) tf.registerGradient(c);
}

registerGradients();
