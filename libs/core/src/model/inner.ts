import * as tf from '@tensorflow/tfjs-core';
import type { NetLayout } from './layout';
import { itemIdRepr, supportGrads, type NetInputs } from './network';
import type { Params } from './params';
import type { RatedSet } from './batch';

/** Options of {@link innerLoop}. */
export interface InnerLoopOptions {
  steps: number;
  /** Scalar learning rate, or Meta-SGD per-parameter rates (same shapes as the global parameters). */
  lr: number | Params;
  /** First-order MAML: the inner gradients are treated as constants by the outer gradient. */
  stopInnerGradient?: boolean;
}

/** Stops gradient flow (tfjs has no stopGradient op): identity forward, zero backward. */
export const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

/** Network inputs of a batch of users on a rated set (ID representation from the global params). */
export function inputsFor(l: NetLayout, global: Params, userX: tf.Tensor3D, set: RatedSet): NetInputs {
  const inp: NetInputs = { userX, itemX: set.itemX };
  if (l.idDim > 0) inp.itemId = itemIdRepr(global, set.itemX, set.idIndex, set.warm) as tf.Tensor3D;
  return inp;
}

/** One copy of each local parameter per user: [B, ...shape] from the global value. */
export function tileLocal(global: Params, localNames: readonly string[], b: number): Params {
  const local: Params = {};
  for (const name of localNames) {
    const g = global[name];
    local[name] = tf.tile(tf.expandDims(g, 0), [b, ...g.shape.map(() => 1)]);
  }
  return local;
}

/**
 * Adapts the local parameters of B users on their support sets with `steps` gradient steps
 * (batched; users are independent because the summed loss separates by user). Differentiable
 * with respect to `global` and Meta-SGD rates. Returns the adapted local parameters [B, ...].
 */
export function innerLoop(
  l: NetLayout,
  global: Params,
  localNames: readonly string[],
  inputs: NetInputs,
  support: RatedSet,
  mean: number,
  opts: InnerLoopOptions,
): Params {
  let local = tileLocal(global, localNames, inputs.userX.shape[0]);
  for (let step = 0; step < opts.steps; step++) {
    const { grads } = supportGrads(
      l,
      { ...global, ...local },
      localNames,
      inputs,
      support.y,
      support.mask,
      mean,
    );
    const next: Params = {};
    for (const name of localNames) {
      const g = opts.stopInnerGradient ? stopGradient(grads[name]) : grads[name];
      const lr = typeof opts.lr === 'number' ? opts.lr : opts.lr[name];
      next[name] = tf.sub(local[name], tf.mul(lr, g));
    }
    local = next;
  }
  return local;
}
