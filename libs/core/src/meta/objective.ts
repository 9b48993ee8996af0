import * as tf from '@tensorflow/tfjs-core';
import { buildRatedSet, disposeRatedSet, type RatedSet, type RatedSetOptions } from '../model/batch';
import { innerLoop, inputsFor } from '../model/inner';
import type { RecommenderModel } from '../model/model';
import { forward, perUserLoss } from '../model/network';
import type { Params } from '../model/params';
import type { ItemCatalog, Task } from '../types';

/**
 * Meta-learning algorithms. `melu` is second-order MAML with only decision + output layers local;
 * `anil` is second-order MAML with only the output head local (shared trunk).
 */
export type Algorithm = 'maml' | 'fomaml' | 'reptile' | 'meta-sgd' | 'melu' | 'anil';
export const ALGORITHMS: readonly Algorithm[] = ['maml', 'fomaml', 'reptile', 'meta-sgd', 'melu', 'anil'];

/** One meta-batch of B tasks as padded tensors. */
export interface MetaBatch {
  userX: tf.Tensor3D;
  support: RatedSet;
  query: RatedSet;
  size: number;
}

/** Encodes tasks into a meta-batch (item rows cached in `rowCache`). */
export function buildMetaBatch(
  model: RecommenderModel,
  tasks: readonly Task[],
  items: ItemCatalog,
  opts: Pick<RatedSetOptions, 'rowCache' | 'dropId'> & {
    path?: string;
    /** With user IDs: returns true to score a known user's task with the cold-user row 0. */
    dropUserId?: () => boolean;
  } = {},
): MetaBatch {
  const path = opts.path ?? 'tasks';
  // One row per task, shared by its support and query sets (a dropped user is cold in both).
  const userIdRows =
    model.layout.userIdDim > 0
      ? model.userIdRows(
          tasks.map((t) => t.user),
          opts.dropUserId,
        )
      : undefined;
  const support = buildRatedSet(
    model,
    tasks.map((t) => t.support),
    items,
    { rowCache: opts.rowCache, dropId: opts.dropId, userIdRows, path, list: 'support' },
  );
  try {
    const query = buildRatedSet(
      model,
      tasks.map((t) => t.query),
      items,
      { rowCache: opts.rowCache, dropId: opts.dropId, userIdRows, path, list: 'query' },
    );
    return { userX: model.encodeUsers(tasks.map((t) => t.user)), support, query, size: tasks.length };
  } catch (err) {
    disposeRatedSet(support);
    throw err;
  }
}

export function disposeMetaBatch(b: MetaBatch): void {
  b.userX.dispose();
  disposeRatedSet(b.support);
  disposeRatedSet(b.query);
}

/** Settings of the meta-objective. */
export interface ObjectiveOptions {
  algorithm: Algorithm;
  innerSteps: number;
  innerLr: number;
  /** Closed-form ridge head with this penalty instead of the inner steps (head-only models). */
  innerRidge?: number | null;
}

/**
 * The meta-objective: mean over tasks of the query loss after `innerSteps` adaptation steps on the
 * support set, as a differentiable function of the global parameters (and Meta-SGD rates).
 * Returns the loss and the adapted local parameters.
 */
export function metaObjective(
  model: RecommenderModel,
  global: Params,
  lrs: Params | null,
  batch: MetaBatch,
  opts: ObjectiveOptions,
): { loss: tf.Scalar; local: Params } {
  const l = model.layout;
  const names = model.localNames();
  const supIn = inputsFor(l, global, batch.userX, batch.support);
  const local = innerLoop(l, global, names, supIn, batch.support, model.globalMean, {
    steps: opts.innerSteps,
    lr: opts.algorithm === 'meta-sgd' && lrs ? lrs : opts.innerLr,
    stopInnerGradient: opts.algorithm === 'fomaml' || opts.algorithm === 'reptile',
    ...(opts.innerRidge != null && { ridge: opts.innerRidge }),
  });
  const qIn = inputsFor(l, global, batch.userX, batch.query);
  const pred = forward(l, { ...global, ...local }, qIn, model.globalMean);
  const loss = tf.mean(perUserLoss(l, pred, batch.query.y, batch.query.mask)) as tf.Scalar;
  return { loss, local };
}

/** Meta-SGD rate variables keyed by parameter name (created at `innerLr` when missing). */
export function ensureInnerLrs(model: RecommenderModel, innerLr: number): Record<string, tf.Variable> {
  if (!model.innerLrs) {
    model.innerLrs = {};
    for (const name of model.localNames()) {
      const shape = model.params[name].shape;
      // tidy frees the filled tensor (the variable keeps its data).
      model.innerLrs[name] = tf.tidy(() =>
        tf.variable(tf.fill(shape, innerLr), true, `${model.uid}/lr/${name}`),
      );
    }
  }
  return model.innerLrs;
}

/**
 * Meta-gradients of one meta-batch, keyed by parameter name (Meta-SGD rates as `lr/<name>`):
 * - maml, melu, anil, meta-sgd: exact gradient of the meta-objective (second order through the inner loop);
 * - fomaml: the same with the inner gradients held constant;
 * - reptile: for local parameters theta - mean_b(phi_b) (phi = adapted), applied by the outer
 *   optimiser; global-only parameters get the first-order gradient of the post-adaptation loss.
 * Tensors in `grads` are owned by the caller.
 */
export function metaGradients(
  model: RecommenderModel,
  batch: MetaBatch,
  opts: ObjectiveOptions,
): { loss: number; grads: Record<string, tf.Tensor> } {
  const lrs = opts.algorithm === 'meta-sgd' ? ensureInnerLrs(model, opts.innerLr) : null;
  const vars: tf.Variable[] = [...Object.values(model.params), ...Object.values(lrs ?? {})];
  const byVarName = new Map<string, string>();
  for (const [n, v] of Object.entries(model.params)) byVarName.set(v.name, n);
  for (const [n, v] of Object.entries(lrs ?? {})) byVarName.set(v.name, `lr/${n}`);
  let reptileDelta: Record<string, tf.Tensor> = {};
  const { value, grads } = tf.variableGrads(() => {
    const { loss, local } = metaObjective(model, model.globals(), lrs, batch, opts);
    if (opts.algorithm === 'reptile') {
      reptileDelta = {};
      for (const [n, phi] of Object.entries(local)) {
        reptileDelta[n] = tf.keep(tf.sub(model.params[n], tf.mean(phi, 0)));
      }
    }
    return loss;
  }, vars);
  const out: Record<string, tf.Tensor> = {};
  for (const [varName, g] of Object.entries(grads)) {
    const name = byVarName.get(varName)!;
    if (reptileDelta[name]) {
      g.dispose();
      out[name] = reptileDelta[name];
    } else out[name] = g;
  }
  const loss = value.dataSync()[0];
  value.dispose();
  return { loss, grads: out };
}
