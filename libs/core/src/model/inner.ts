import * as tf from '@tensorflow/tfjs-core';
import type { NetLayout } from './layout';
import { HEAD_NAMES, headGrads, isHeadOnly } from './head';
import {
  forward,
  headOutput,
  itemIdRepr,
  userIdRepr,
  lossRowWeights,
  supportGrads,
  trunk,
  withContent,
  xtdy,
  USER_ROWS,
  ITEM_ROWS,
  type NetInputs,
} from './network';
import type { Params } from './params';
import type { RatedSet } from './batch';
import { ridgeHeadDelta } from './ridge-head';
import { bayesHeadPosterior, priorScale, PRIOR_NOISE, PRIOR_PRECISION } from './bayes-head';
import { catalogFoldInDelta, catalogGram, FOLD_IN_CATALOG, FOLD_IN_LIFT } from './catalog-fold-in';
import { fusedKernelsActive, matMulAcc } from '../ops';

/** The running sum of the ITEM_ROWS gradients (innerLoop's collapsed dec.0.w). */
const ITEM_STEPS = 'dec.0.hw.steps';

/** Weight matrices whose gradient step can be fused into the gradient's product. */
const WEIGHT_MATRIX = /^(out\.w|dec\.\d+\.wu?)$/;

/** Options of {@link innerLoop}. */
export interface InnerLoopOptions {
  steps: number;
  /** Scalar learning rate, or Meta-SGD per-parameter rates (same shapes as the global parameters). */
  lr: number | Params;
  /** First-order MAML: the inner gradients are treated as constants by the outer gradient. */
  stopInnerGradient?: boolean;
  /**
   * Serving (no outer gradient): free each step's intermediates right away, which keeps peak
   * memory at a few steps' worth instead of all of them (large B otherwise grows the wasm heap).
   */
  releaseSteps?: boolean;
  /**
   * Closed-form head adaptation with this ridge penalty instead of gradient steps (`steps` and
   * `lr` are then unused): the output head moves to the per-user ridge solution on the trunk
   * features (see ridge-head.ts). Needs a head-only configuration; implicit models regress the
   * head's logits on their 0/1 labels (positives and sampled negatives).
   */
  ridge?: number;
  /**
   * Closed-form head adaptation to the posterior mean of the Bayesian last layer (the model's
   * meta-learned prior precision and noise, see bayes-head.ts) instead of gradient steps or a
   * ridge fit; the prior's bias precision replaces the closed-form user-bias step. Needs a
   * head-only configuration with `bayesHead`.
   */
  bayes?: boolean;
  /** With `bayes`: receives the support design of the posterior (for predictive variances). */
  onPosterior?: (design: tf.Tensor3D) => void;
  /**
   * With `bayes` on a model with `config.catalogFoldIn`: the inputs of the catalog sample
   * ([B or 1, M] items; see catalog-fold-in.ts), or its Gram matrix already computed
   * (`catalogGram`, e.g. cached while the parameters do not change). The support then holds
   * positives only.
   */
  catalog?: NetInputs;
  catalogGram?: tf.Tensor3D;
  /** With the catalog fold-in: the lift's growth with the support size (AdaptSettings.evidenceGrowth). */
  evidenceGrowth?: number;
  /**
   * Adapt u @ dec.0.wu ([B, 1, h0], returned as USER_ROWS) instead of per-user copies of the
   * first layer's user rows dec.0.wu ([B, du', h0]) when those are local and the embeddings are
   * shared. Exact: the user rows act only through u @ dec.0.wu, and a step
   * W -= u^T g moves it by -|u|^2 g (Meta-SGD rates a: -((u*u) @ a) * g). Saves the largest
   * per-user tensor of MeLU; only for serving, whose adapted parameters are only scored (Reptile
   * and the meta-objective need the rows themselves).
   */
  collapseUserRows?: boolean;
}

/** Stops gradient flow (tfjs has no stopGradient op): identity forward, zero backward. */
export const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
})) as (x: tf.Tensor) => tf.Tensor;

/** Network inputs of a batch of users on a rated set (item and user ID representations from the global params). */
export function inputsFor(l: NetLayout, global: Params, userX: tf.Tensor3D, set: RatedSet): NetInputs {
  const inp: NetInputs = { userX, itemX: set.itemX };
  if (l.idDim > 0) {
    const own = itemIdRepr(global, set.itemX, set.idIndex, set.warm) as tf.Tensor3D;
    const w = set.warmRows;
    inp.itemId = w
      ? (tf.add(
          tf.mul(own, tf.sub(1, tf.expandDims(w.use, 2))),
          tf.mul(w.rows, tf.expandDims(w.use, 2)),
        ) as tf.Tensor3D)
      : own;
  }
  if (l.userIdDim > 0) {
    if (!set.userIdIndex) throw new Error('the model has user IDs: the rated set needs userIdIndex');
    inp.userId = userIdRepr(global, set.userIdIndex);
  }
  return inp;
}

/**
 * One copy of a parameter per user, [B, ...shape]. Done as ones[B,1] @ row (a matMul) because
 * tfjs's Tile and broadcasting element-wise kernels are slow on large tensors; its gradient (a
 * matMul again) sums the per-user gradients back onto the shared parameter.
 */
export function perUser(t: tf.Tensor, b: number): tf.Tensor {
  // The wasm backend caches matMul weights by data id, ignoring shape, and a reshape shares its
  // source's data: feeding a reshaped parameter as the right operand aborts later matMuls that
  // use the parameter in its own shape. Adding zeros gives the row its own data.
  const row = tf.add(tf.reshape(t, [1, t.size]), tf.zeros([1, t.size]));
  return tf.reshape(tf.matMul(tf.ones([b, 1]), row), [b, ...t.shape]);
}

/** Per-user copies of the local parameters. */
export function tileLocal(global: Params, localNames: readonly string[], b: number): Params {
  return Object.fromEntries(localNames.map((n) => [n, perUser(global[n], b)]));
}

/**
 * The closed-form user-bias step: per user, the shrunk mean support residual
 * sum_s mask * (y - pred) / (n + shrinkage) ([B, 1]), pred being the predictions of `p` (the
 * meta-learned initialisation). Added to the user's output bias, it is the user bias of the
 * user+item-bias baseline on top of whatever the network predicts. Built from differentiable ops
 * (pred is a smooth function of the parameters away from ReLU kinks), so second-order
 * meta-gradients through it are exact. Padded rows have mask 0; an empty support set gives 0.
 */
export function userBiasDelta(pred: tf.Tensor2D, support: RatedSet, shrinkage: number): tf.Tensor2D {
  const resid = tf.sum(tf.mul(tf.sub(support.y, pred), support.mask), 1, true);
  return tf.div(resid, tf.add(tf.sum(support.mask, 1, true), shrinkage)) as tf.Tensor2D;
}

/**
 * Adapts the local parameters of B users on their support sets with `steps` gradient steps
 * (batched; users are independent because the summed loss separates by user). Differentiable
 * with respect to `global` and Meta-SGD rates. Returns the adapted local parameters [B, ...].
 * With `l.userBiasShrinkage` set (and `out.b` local, steps > 0), the gradient steps start after
 * the closed-form user-bias step ({@link userBiasDelta}); first-order MAML holds it constant too.
 * With `opts.ridge`, a closed-form ridge fit of the head replaces the gradient steps.
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
  const b = inputs.userX.shape[0];
  const embLocal = localNames.some((n) => n.startsWith('emb.'));
  // Shared embeddings do not change during adaptation: embed users and items once.
  const inp = embLocal ? inputs : withContent(l, global, inputs, mean);
  const scalar = typeof opts.lr === 'number';
  const rowWeight = lossRowWeights(l, support.mask, scalar ? (opts.lr as number) : 1);
  const collapse = !!opts.collapseUserRows && !embLocal && localNames.includes('dec.0.wu');
  // Serving (no outer gradient, scalar rate): a weight matrix's step W - x^T dy is one fused
  // product, and its first step reads the shared W directly (no per-user copies to start from).
  const ridge = opts.ridge !== undefined;
  const bayes = !!opts.bayes;
  const fuse =
    !!opts.releaseSteps &&
    scalar &&
    !opts.stopInnerGradient &&
    opts.steps > 0 &&
    !ridge &&
    !bayes &&
    fusedKernelsActive();
  // With shared embeddings the support items' first-layer input hi is fixed, so (like the user
  // rows) dec.0.w acts only through hi @ dec.0.w ([B,S,h0], ITEM_ROWS), and a step
  // W -= hi^T g moves it by -(hi hi^T) g: an S x S Gram product instead of two products with
  // [B, in, h0] weights per step. dec.0.w itself is formed once, after the last step, from the
  // sum of the steps' g.
  const collapseItems = fuse && !embLocal && localNames.includes('dec.0.w');
  const alias = (n: string) =>
    collapse && n === 'dec.0.wu' ? USER_ROWS : collapseItems && n === 'dec.0.w' ? ITEM_ROWS : n;
  const names = localNames.map(alias);
  const stepNames = names.filter((n) => n !== USER_ROWS && n !== ITEM_ROWS);
  const rates = scalar ? null : tileLocal(opts.lr as Params, stepNames, b);
  const fused = new Set(fuse ? stepNames.filter((n) => WEIGHT_MATRIX.test(n)) : []);
  let local = tileLocal(
    global,
    stepNames.filter((n) => !fused.has(n)),
    b,
  );
  // What one step moves u @ dec.0.wu by, per unit of its gradient: |u|^2 ([B,1,1]; the scalar
  // rate is already in the gradient) or (u*u) @ rates ([B,1,h0]).
  let userRowsScale: tf.Tensor | null = null;
  if (collapse) {
    const u = inp.userContent!;
    const rowsTimes = (x: tf.Tensor, w: tf.Tensor) =>
      tf.reshape(tf.matMul(tf.reshape(x, [b, -1]), w as tf.Tensor2D), [b, 1, -1]);
    local[USER_ROWS] = rowsTimes(u, global['dec.0.wu']);
    const u2 = tf.square(u);
    userRowsScale = scalar ? tf.sum(u2, 2, true) : rowsTimes(u2, (opts.lr as Params)['dec.0.wu']);
  }
  let gram: tf.Tensor3D | null = null;
  if (collapseItems) {
    const hi = inp.itemHidden!;
    local[ITEM_ROWS] = tf.matMul(hi, global['dec.0.w'] as tf.Tensor2D);
    gram = tf.matMul(hi, hi, false, true) as tf.Tensor3D;
  }
  // ANIL: the shared trunk's features are the same at every step; compute them once.
  const head = !embLocal && isHeadOnly(localNames) ? trunk(l, global, inp, mean) : null;
  if ((ridge || bayes) && (!head || !HEAD_NAMES.every((n) => localNames.includes(n)))) {
    throw new Error('closed-form head adaptation needs a head-only configuration (ANIL)');
  }
  if (bayes) {
    if (!global[PRIOR_PRECISION]) throw new Error('Bayesian head adaptation needs a model with bayesHead');
    const resid = tf.sub(support.y, headOutput(global, head!.features, head!.offset)) as tf.Tensor2D;
    const { d, noise } = priorScale(global[PRIOR_PRECISION], global[PRIOR_NOISE]);
    let dw: tf.Tensor3D;
    let db: tf.Tensor2D;
    if (l.foldIn) {
      const gram =
        opts.catalogGram ??
        (opts.catalog &&
          catalogGram(trunk(l, global, withContent(l, global, opts.catalog, mean), mean).features));
      if (!gram)
        throw new Error('catalog fold-in needs the catalog sample (opts.catalog or opts.catalogGram)');
      ({ dw, db } = catalogFoldInDelta(
        head!.features,
        support.y,
        support.mask,
        gram,
        d,
        global[FOLD_IN_CATALOG],
        global[FOLD_IN_LIFT],
        opts.evidenceGrowth ?? 0,
      ));
    } else {
      const post = bayesHeadPosterior(head!.features, resid, support.mask, d, noise);
      opts.onPosterior?.(post.design);
      ({ dw, db } = post);
    }
    if (opts.stopInnerGradient) [dw, db] = [stopGradient(dw) as tf.Tensor3D, stopGradient(db) as tf.Tensor2D];
    return { ...local, 'out.w': tf.add(local['out.w'], dw), 'out.b': tf.add(local['out.b'], db) };
  }
  const biasStep = l.userBiasShrinkage !== null && (opts.steps > 0 || ridge) && localNames.includes('out.b');
  if (biasStep) {
    const pred = head ? headOutput(global, head.features, head.offset) : forward(l, global, inp, mean);
    let delta = userBiasDelta(pred, support, l.userBiasShrinkage!);
    if (opts.stopInnerGradient) delta = stopGradient(delta) as tf.Tensor2D;
    local = { ...local, 'out.b': tf.add(local['out.b'], delta) };
  }
  if (ridge) {
    const p = biasStep ? { ...global, 'out.b': local['out.b'] } : global;
    const resid = tf.sub(support.y, headOutput(p, head!.features, head!.offset)) as tf.Tensor2D;
    let { dw, db } = ridgeHeadDelta(head!.features, resid, support.mask, opts.ridge!);
    if (opts.stopInnerGradient) [dw, db] = [stopGradient(dw) as tf.Tensor3D, stopGradient(db) as tf.Tensor2D];
    return { ...local, 'out.w': tf.add(local['out.w'], dw), 'out.b': tf.add(local['out.b'], db) };
  }
  const step = (current: Params, first: boolean): Params => {
    // The first step runs on the shared values (per-user output biases after the bias step); its
    // gradients are per user already.
    const p = first
      ? {
          ...global,
          ...(biasStep && { 'out.b': current['out.b'] }),
          ...(collapseItems && { [ITEM_ROWS]: current[ITEM_ROWS] }),
        }
      : { ...global, ...current };
    const stepped = new Set<string>();
    const weightGrad = (name: string, x: tf.Tensor3D, dy: tf.Tensor3D) => {
      if (!fused.has(name)) return xtdy(x, dy);
      stepped.add(name);
      return matMulAcc(current[name] ?? global[name], x, dy, -1, true, false);
    };
    const grads = head
      ? headGrads(l, p, names, head.features, head.offset, support.y, rowWeight)
      : supportGrads(l, p, names, inp, support.y, support.mask, mean, 1, rowWeight, weightGrad);
    const next: Params = {};
    for (const name of names) {
      if (stepped.has(name)) {
        next[name] = grads[name]; // already W - x^T dy
        continue;
      }
      if (name === ITEM_ROWS) {
        next[ITEM_ROWS] = matMulAcc(current[ITEM_ROWS], gram!, grads[ITEM_ROWS], -1);
        next[ITEM_STEPS] = current[ITEM_STEPS]
          ? tf.add(current[ITEM_STEPS], grads[ITEM_ROWS])
          : grads[ITEM_ROWS];
        continue;
      }
      let g = opts.stopInnerGradient ? stopGradient(grads[name]) : grads[name];
      if (name === USER_ROWS) g = tf.mul(userRowsScale!, g);
      else if (rates) g = tf.mul(rates[name], g);
      next[name] = tf.sub(current[name] ?? global[name], g);
    }
    return next;
  };
  for (let k = 0; k < opts.steps; k++) {
    if (!opts.releaseSteps) {
      local = step(local, k === 0);
      continue;
    }
    const prev = local;
    local = tf.tidy(() => step(prev, k === 0));
    tf.dispose(Object.values(prev));
  }
  if (collapseItems) {
    // dec.0.w = W - hi^T (sum of the steps' gradients with respect to hi @ dec.0.w).
    const { [ITEM_ROWS]: rows, [ITEM_STEPS]: sum, ...rest } = local;
    rest['dec.0.w'] = matMulAcc(global['dec.0.w'], inp.itemHidden!, sum, -1, true, false);
    tf.dispose([rows, sum, gram!]);
    local = rest;
  }
  return local;
}
