import * as tf from '@tensorflow/tfjs-core';
import { buildRatedSet, disposeRatedSet, type RatedSet, type RatedSetOptions } from '../model/batch';
import { innerLoop, inputsFor, perUser, stopGradient } from '../model/inner';
import {
  bayesHeadPosterior,
  gaussianNll,
  priorScale,
  PRIOR_NOISE,
  PRIOR_PRECISION,
} from '../model/bayes-head';
import type { RecommenderModel } from '../model/model';
import { forward, headOutput, perUserLoss, trunk, withContent } from '../model/network';
import type { Params } from '../model/params';
import { bprPerUser } from '../model/bpr';
import { positivesOf, queryNegatives, withSampledNegatives } from '../negatives/augment';
import type { NegativePool } from '../negatives/pool';
import { catalogInputs, catalogSet, uniformCatalogSample } from '../negatives/catalog-sample';
import { TRAIN_CATALOG_SAMPLE } from '../model/catalog-fold-in';
import type { Rng } from '../rng';
import type { ItemCatalog, Rating, Task } from '../types';
import type { Algorithm } from './algorithm';

/** One meta-batch of B tasks as padded tensors. */
export interface MetaBatch {
  userX: tf.Tensor3D;
  support: RatedSet;
  query: RatedSet;
  /**
   * Implicit models with sampled negatives: the query positives' negatives ([B, M] padded) and
   * their pairing with the query items, `pair` [B, M, Q] one-hot (see bprPerUser).
   */
  queryNeg?: { set: RatedSet; pair: tf.Tensor3D };
  /** Models with the catalog fold-in: a uniform sample of the catalog (see catalog-fold-in.ts). */
  catalog?: RatedSet;
  size: number;
}

/** How buildMetaBatch samples negatives (implicit models with `config.negatives`). */
export interface BatchNegatives {
  pool: NegativePool;
  perPositive: number;
  rng: Rng;
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
    /**
     * Sampled negatives: each support set gains `perPositive` negatives per positive (label 0),
     * and each query positive gets `perPositive` negatives for the BPR loss; never an item of the
     * task itself.
     */
    negatives?: BatchNegatives;
  } = {},
): MetaBatch {
  const path = opts.path ?? 'tasks';
  const neg = opts.negatives;
  let supports: Rating[][] = tasks.map((t) => t.support);
  let queries: Rating[][] = tasks.map((t) => t.query);
  let negLists: { items: Rating[]; pairOf: number[] }[] | undefined;
  if (neg) {
    // Checked here so a bad list is a ValidationError from buildRatedSet, not a TypeError.
    const ok = tasks.every((t) => Array.isArray(t.support) && Array.isArray(t.query));
    if (ok) {
      const own = tasks.map((t) => new Set([...t.support, ...t.query].map((r) => r?.itemId)));
      // The catalog fold-in adapts on the positives against the catalog sample instead.
      if (!model.layout.foldIn)
        supports = tasks.map((t, i) =>
          withSampledNegatives(t.support, neg.pool, neg.perPositive, neg.rng, own[i]),
        );
      // Only positives are scored in the query (labelled 0s have no pair).
      queries = tasks.map((t) => positivesOf(t.query));
      negLists = queries.map((q, i) => queryNegatives(q, neg.pool, neg.perPositive, neg.rng, own[i]));
    }
  }
  const poolRows = neg?.pool.rowOf;
  // One row per task, shared by its support and query sets (a dropped user is cold in both).
  const userIdRows =
    model.layout.userIdDim > 0
      ? model.userIdRows(
          tasks.map((t) => t.user),
          opts.dropUserId,
        )
      : undefined;
  const common = { rowCache: opts.rowCache, dropId: opts.dropId, userIdRows, path, poolRows };
  const sets: RatedSet[] = [];
  try {
    const support = buildRatedSet(model, supports, items, { ...common, list: 'support' });
    sets.push(support);
    const query = buildRatedSet(model, queries, items, { ...common, list: 'query' });
    sets.push(query);
    let queryNeg: MetaBatch['queryNeg'];
    if (negLists) {
      const set = buildRatedSet(
        model,
        negLists.map((n) => n.items),
        items,
        { ...common, list: 'negatives' },
      );
      sets.push(set);
      const [b, m] = set.mask.shape;
      const q = query.mask.shape[1];
      const pair = new Float32Array(b * m * q);
      negLists.forEach((n, i) => n.pairOf.forEach((j, k) => (pair[(i * m + k) * q + j] = 1)));
      queryNeg = { set, pair: tf.tensor3d(pair, [b, m, q]) };
    }
    let catalog: RatedSet | undefined;
    if (neg && model.layout.foldIn) {
      const ids = uniformCatalogSample(neg.pool, TRAIN_CATALOG_SAMPLE, neg.rng);
      catalog = catalogSet(model, ids, tasks.length, items, userIdRows);
      sets.push(catalog);
    }
    return {
      userX: model.encodeUsers(tasks.map((t) => t.user)),
      support,
      query,
      ...(queryNeg && { queryNeg }),
      ...(catalog && { catalog }),
      size: tasks.length,
    };
  } catch (err) {
    sets.forEach(disposeRatedSet);
    throw err;
  }
}

export function disposeMetaBatch(b: MetaBatch): void {
  b.userX.dispose();
  disposeRatedSet(b.support);
  disposeRatedSet(b.query);
  if (b.queryNeg) {
    disposeRatedSet(b.queryNeg.set);
    b.queryNeg.pair.dispose();
  }
  if (b.catalog) disposeRatedSet(b.catalog);
}

/** Settings of the meta-objective. */
export interface ObjectiveOptions {
  algorithm: Algorithm;
  innerSteps: number;
  innerLr: number;
  /** Closed-form ridge head with this penalty instead of the inner steps (head-only models). */
  innerRidge?: number | null;
  /**
   * Models with a Bayesian last layer (`config.bayesHead`) adapt to the posterior mean. Their
   * rating query loss is `nll` (default: the Gaussian negative log-likelihood of the query under
   * the posterior predictive, ALPaCA's objective, which fits the prior precision and the noise
   * separately) or `mse` (squared error of the posterior mean: only their ratio is fitted).
   * Implicit models use BPR either way.
   */
  bayesLoss?: 'nll' | 'mse';
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
  const stopInnerGradient = opts.algorithm === 'fomaml' || opts.algorithm === 'reptile';
  if (l.bayesHead && l.task === 'rating' && opts.bayesLoss !== 'mse')
    return bayesObjective(model, global, batch, stopInnerGradient);
  const supIn = inputsFor(l, global, batch.userX, batch.support);
  const local = innerLoop(l, global, names, supIn, batch.support, model.globalMean, {
    steps: opts.innerSteps,
    lr: opts.algorithm === 'meta-sgd' && lrs ? lrs : opts.innerLr,
    stopInnerGradient,
    ...(opts.innerRidge != null && { ridge: opts.innerRidge }),
    ...(l.bayesHead && { bayes: true }),
    ...(batch.catalog && {
      catalog: catalogInputs(model, global, batch.userX, batch.catalog),
      evidenceGrowth: model.adaptDefaults.evidenceGrowth ?? 0,
    }),
  });
  const adapted = { ...global, ...local };
  const qIn = inputsFor(l, global, batch.userX, batch.query);
  const pred = forward(l, adapted, qIn, model.globalMean);
  if (batch.queryNeg) {
    // Ranking: the query positives against their sampled negatives (BPR).
    const nIn = inputsFor(l, global, batch.userX, batch.queryNeg.set);
    const negPred = forward(l, adapted, nIn, model.globalMean);
    const perUser = bprPerUser(pred, negPred, batch.queryNeg.pair, batch.queryNeg.set.mask);
    return { loss: tf.mean(perUser) as tf.Scalar, local };
  }
  const loss = tf.mean(perUserLoss(l, pred, batch.query.y, batch.query.mask)) as tf.Scalar;
  return { loss, local };
}

/**
 * ALPaCA's meta-objective for a Bayesian last layer on ratings: each user's head posterior on the
 * support set (trunk features computed once, shared trunk), then the mean Gaussian negative
 * log-likelihood of the query ratings under the posterior predictive (mean: the adapted head;
 * variance: the head's posterior variance at the query features plus the noise). Differentiable
 * in the trunk, the prior mean, precision and noise, through the solve.
 */
function bayesObjective(
  model: RecommenderModel,
  global: Params,
  batch: MetaBatch,
  stopInnerGradient: boolean,
): { loss: tf.Scalar; local: Params } {
  const l = model.layout;
  if (!model.supportsRidge) throw new Error('the Bayesian head needs a head-only configuration (ANIL)');
  const mean = model.globalMean;
  const sup = trunk(
    l,
    global,
    withContent(l, global, inputsFor(l, global, batch.userX, batch.support), mean),
    mean,
  );
  const qry = trunk(
    l,
    global,
    withContent(l, global, inputsFor(l, global, batch.userX, batch.query), mean),
    mean,
  );
  const resid = tf.sub(batch.support.y, headOutput(global, sup.features, sup.offset)) as tf.Tensor2D;
  const { d, noise } = priorScale(global[PRIOR_PRECISION], global[PRIOR_NOISE]);
  const post = bayesHeadPosterior(sup.features, resid, batch.support.mask, d, noise, qry.features);
  const [dw, db] = stopInnerGradient ? [stopGradient(post.dw), stopGradient(post.db)] : [post.dw, post.db];
  const b = batch.size;
  const local: Params = {
    'out.w': tf.add(perUser(global['out.w'], b), dw),
    'out.b': tf.add(perUser(global['out.b'], b), db),
  };
  const pred = headOutput({ ...global, ...local }, qry.features, qry.offset);
  const nll = gaussianNll(pred, post.variance!, batch.query.y, batch.query.mask);
  return { loss: tf.mean(nll) as tf.Scalar, local };
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
