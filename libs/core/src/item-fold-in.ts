/**
 * Item fold-in for implicit feedback: the item-side mirror of the catalog fold-in
 * (model/catalog-fold-in.ts), as implicit ALS alternates a user step and an item step (Hu, Koren
 * and Volinsky 2008). A new item's first interactions come from users whose heads are already
 * adapted on their own histories; the item's ID row is fitted so that those users' heads lift it
 * and the rest of the user base does not, in closed form instead of gradient steps on shared
 * parameters (warmUpItems), which cannot see per-user heads.
 *
 * A user u's head differs from the prior mean by q_u = [dw_u; db_u] (the fold-in's delta); its
 * score of item j moves by q_u . [h_j; 1] from the prior's, h_j the trunk's features of the item
 * (a function of its content and its ID embedding e_j). The user fold-in moves a user's scores from
 * the prior's by the lift m on the items they interacted with and by 0 on the rest of the catalog.
 * The item step moves an item from where it started (its generator output from content, or its
 * own row), with features h_0, the same way: by m for the users who interacted with it, by 0 for
 * the rest of the user base, through its ID embedding e and a shift b of its bias:
 *
 *   L(e, b) = sum_{u in E} (m - s_u)^2 + w_I mean_{u in base} s_u^2
 *             + (h(e) - h_0)^T D_h (h(e) - h_0) + D_b b^2,      s_u = q_u . [h(e) - h_0; 0] + b
 *
 * E the users who interacted with the item, w_I = w * N_users / N_items (the user base weighs
 * what the catalog weighs in the user step, per user rather than per item: ALS's symmetric
 * confidence), w and m the model's meta-learned fold-in weights (prior.logCatalog,
 * prior.logLift) and D the head prior's precisions (prior.logPrec with prior.logNoise) carried
 * over to the item's units ({@link itemPrecision}). L is minimised by Gauss-Newton steps on h's
 * linearisation in e (exact where the trunk is linear around the item, e.g. the pass-through
 * trunk; a few steps otherwise). With no interaction L is 0 at the start: the item keeps its row.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AdaptedUsers } from './adapt';
import { ValidationError } from './errors';
import { FOLD_IN_CATALOG, FOLD_IN_LIFT } from './model/catalog-fold-in';
import { PRIOR_NOISE, PRIOR_PRECISION, priorScale } from './model/bayes-head';
import { trunkIgnoresUser } from './model/layout';
import type { RecommenderModel } from './model/model';
import { itemContent, userFirstLayer } from './model/network';
import { seededCatalogSample } from './negatives/catalog-sample';
import type { Params } from './model/params';
import { solveSpd } from './model/spd-solve';
import type { ItemRecord } from './types';

/** Users' head deltas from the prior mean, q = [dw; db] per user (see {@link userHeads}). */
export interface UserHeads {
  /** User ids, row i of `q` is user ids[i]'s. */
  ids: readonly string[];
  /** Row-major [ids.length, H + 1]. */
  q: Float32Array;
  /** H + 1. */
  width: number;
}

/**
 * The user base an item is folded in against: the second moments mean(q q^T) and the mean mean(q)
 * of the head deltas of a sample of users, and how many users that sample stands for (N_users above).
 */
export interface UserBase {
  /** Row-major [width, width], width = H + 1. */
  moments: Float32Array;
  /** mean(q) [width]. */
  mean: Float32Array;
  width: number;
  users: number;
}

/** One item and the users (ids in the {@link UserHeads}) who interacted with it. */
export interface ItemFoldInRequest {
  item: ItemRecord;
  users: readonly string[];
}

export interface ItemFoldInOptions {
  /** Gauss-Newton steps (default 3; 0 returns the starting rows). */
  iterations?: number;
}

/** Items folded in per batched solve: bounds the [items, idDim, H] Jacobians held at once. */
const ITEMS_PER_BATCH = 512;
/** Added to the e block of the normal equations: keeps directions the trunk ignores at the start. */
const JITTER = 1e-4;

/**
 * Whether `model` can fold items in: a catalog fold-in model (implicit feedback, Bayesian last
 * layer over the catalog) with item ID embeddings, a negative pool (the catalog size) and a trunk
 * that ignores the user (every user scores an item's features with their head alone).
 */
export function supportsItemFoldIn(model: RecommenderModel): boolean {
  const l = model.layout;
  return l.foldIn && l.idDim > 0 && trunkIgnoresUser(l) && model.supportsRidge && model.negativePool !== null;
}

/** The head deltas of adapted users (adapt's output on their own histories). */
export function userHeads(adapted: AdaptedUsers): UserHeads {
  const model = adapted.model;
  const w = adapted.local['out.w'];
  const b = adapted.local['out.b'];
  if (!w || !b || w.rank !== 3)
    throw new ValidationError('adapted', 'must hold per-user output heads (out.w, out.b): an ANIL model');
  const q = tf.tidy(() => {
    const g = model.globals();
    const n = adapted.size;
    const dw = tf.reshape(tf.sub(w, g['out.w']), [n, -1]);
    const db = tf.reshape(tf.sub(b, g['out.b']), [n, 1]);
    return tf.concat([dw, db], 1);
  });
  const values = q.dataSync() as Float32Array;
  const width = q.shape[1]!;
  q.dispose();
  return { ids: [...adapted.userIds], q: values, width };
}

/** The {@link UserBase} of `heads` (all of its users), standing for `users` users (default: as many). */
export function userBaseOf(heads: UserHeads, users = heads.ids.length): UserBase {
  const n = heads.ids.length;
  if (n === 0) throw new ValidationError('heads', 'must hold at least one user');
  if (!(Number.isFinite(users) && users >= 1)) throw new ValidationError('users', 'must be a number >= 1');
  const k = heads.width;
  const acc = new Float64Array(k * k);
  const sum = new Float64Array(k);
  for (let u = 0; u < n; u++) {
    const q = heads.q.subarray(u * k, (u + 1) * k);
    for (let a = 0; a < k; a++) {
      sum[a] += q[a];
      for (let c = 0; c < k; c++) acc[a * k + c] += q[a] * q[c];
    }
  }
  return {
    moments: Float32Array.from(acc, (v) => v / n),
    mean: Float32Array.from(sum, (v) => v / n),
    width: k,
    users,
  };
}

/**
 * Folds items in from the users who interacted with them: returns each requested item's ID
 * representation (idDim embedding values plus the ID bias, the rows `warmItems` takes). Users not
 * in `heads` are skipped; an item left without users keeps its starting row. Deterministic.
 */
export function foldInItems(
  model: RecommenderModel,
  requests: readonly ItemFoldInRequest[],
  heads: UserHeads,
  base: UserBase,
  options: ItemFoldInOptions = {},
): Map<string, Float32Array> {
  if (!supportsItemFoldIn(model))
    throw new ValidationError(
      'model',
      'item fold-in needs a catalog fold-in model with item ID embeddings, a negative pool and no user features',
    );
  const iterations = options.iterations ?? 3;
  if (!(Number.isInteger(iterations) && iterations >= 0))
    throw new ValidationError('options.iterations', 'must be an integer >= 0');
  const width = model.layout.hidden[model.layout.hidden.length - 1] + 1;
  if (heads.width !== width) throw new ValidationError('heads.width', `must be ${width} (H + 1)`);
  if (base.width !== width) throw new ValidationError('base.width', `must be ${width} (H + 1)`);
  if (!Array.isArray(requests)) throw new ValidationError('requests', 'must be an array');
  const rowOf = new Map(heads.ids.map((id, i) => [id, i]));
  const out = new Map<string, Float32Array>();
  // Per call, not per batch: the featureless user's first layer and the prior precision.
  const constants = tf.tidy(() => {
    const p = model.globals();
    const userPre0 = tf.reshape(
      userFirstLayer(model.layout, p, model.encodeUsers([{ features: {} }])),
      [1, -1],
    ) as tf.Tensor2D;
    return { userPre0, prec: itemPrecision(model, p, base, userPre0) };
  });
  try {
    for (let at = 0; at < requests.length; at += ITEMS_PER_BATCH) {
      const chunk = requests.slice(at, at + ITEMS_PER_BATCH);
      const rows = foldInBatch(model, chunk, heads, rowOf, base, iterations, constants);
      chunk.forEach((r, i) => out.set(r.item.id, rows[i]));
    }
  } finally {
    tf.dispose(constants);
  }
  return out;
}

/** The evidence of a batch: users' q padded per item [M, K, H+1] (zero rows pad) and the counts [M]. */
function evidenceTensor(
  requests: readonly ItemFoldInRequest[],
  heads: UserHeads,
  rowOf: ReadonlyMap<string, number>,
): { q: tf.Tensor3D; counts: tf.Tensor1D } {
  const k = heads.width;
  const lists = requests.map((r, i) => {
    if (!r?.item || typeof r.item.id !== 'string')
      throw new ValidationError(`requests[${i}].item.id`, 'is required');
    if (!Array.isArray(r.users)) throw new ValidationError(`requests[${i}].users`, 'must be an array');
    return [...new Set(r.users)].flatMap((id) => (rowOf.has(id) ? [rowOf.get(id)!] : []));
  });
  const most = Math.max(1, ...lists.map((l) => l.length));
  const values = new Float32Array(requests.length * most * k);
  lists.forEach((list, i) =>
    list.forEach((u, j) => values.set(heads.q.subarray(u * k, (u + 1) * k), (i * most + j) * k)),
  );
  return {
    q: tf.tensor3d(values, [requests.length, most, k]),
    counts: tf.tensor1d(lists.map((l) => l.length)),
  };
}

/** Trunk features h [M, H] and their Jacobian dh/de as [M, idDim, H], at ID embeddings e [M, idDim]. */
export function trunkWithJacobian(
  model: RecommenderModel,
  p: Params,
  contentPre0: tf.Tensor2D,
  userPre0: tf.Tensor2D,
  e: tf.Tensor2D,
): { h: tf.Tensor2D; jac: tf.Tensor3D } {
  const l = model.layout;
  const cw = l.itemFields.length * l.e;
  const w0 = p['dec.0.w'] as tf.Tensor2D;
  const idRows = tf.slice(w0, [cw, 0], [l.idDim, w0.shape[1]]);
  const m = e.shape[0];
  let pre = tf.add(tf.add(contentPre0, tf.matMul(e, idRows)), userPre0) as tf.Tensor2D;
  let h = tf.relu(pre) as tf.Tensor2D;
  // Forward-mode derivative: d pre0 / d e = idRows for every item, masked by each layer's ReLU.
  let jac = tf.mul(tf.expandDims(idRows, 0), tf.expandDims(tf.step(pre), 1)) as tf.Tensor3D;
  for (let i = 1; i < l.hidden.length; i++) {
    const w = p[`dec.${i}.w`] as tf.Tensor2D;
    pre = tf.add(tf.matMul(h, w), p[`dec.${i}.b`]) as tf.Tensor2D;
    h = tf.relu(pre) as tf.Tensor2D;
    const [, d, hp] = jac.shape;
    const moved = tf.reshape(tf.matMul(tf.reshape(jac, [m * d, hp]), w), [m, d, w.shape[1]]);
    jac = tf.mul(moved, tf.expandDims(tf.step(pre), 1)) as tf.Tensor3D;
  }
  return { h, jac };
}

/** Warm items whose spread around their generator rows sets the item prior's scale. */
const SPREAD_SAMPLE = 512;

/**
 * The item prior's precisions [H+1] (times the noise): the head prior's D, rescaled so that the
 * prior is as strong relative to the spread of what it shrinks on the item side as on the user
 * side, D_item = D * (mean q^2) / (mean (x_own - x_gen)^2), separately for the features and the
 * bias. q are the base users' head deltas; x_own - x_gen the features (and ID bias) of a seeded
 * sample of warm items at their own rows minus at their generator rows. Heads and item features
 * trade scale freely (a head times s, the features over s, score the same), and the prior must
 * follow: with implicit-ALS factors scaled to unit spread, D in the head's units is hundreds of
 * times too strong for the items', and folded-in items would barely leave their start. Where
 * either spread is 0 the ratio is 1.
 */
export function itemPrecision(
  model: RecommenderModel,
  p: Params,
  base: UserBase,
  userPre0: tf.Tensor2D,
): tf.Tensor1D {
  const l = model.layout;
  const hDim = base.width - 1;
  const d = priorScale(p[PRIOR_PRECISION], p[PRIOR_NOISE]).d;
  const pool = model.negativePool!;
  const ids = seededCatalogSample(pool, SPREAD_SAMPLE, model.config.seed).filter((id) =>
    model.itemIdIndex.has(id),
  );
  let userH = 0;
  for (let i = 0; i < hDim; i++) userH += base.moments[i * base.width + i];
  userH /= hDim;
  const userB = base.moments[hDim * base.width + hDim];
  if (ids.length === 0) return d;
  const x = tf.tensor2d(
    ids.flatMap((id) => Array.from(pool.rowOf.get(id)!)),
    [ids.length, pool.width],
  );
  const own = tf.gather(
    p['id.item'],
    tf.tensor1d(
      ids.map((id) => model.itemIdIndex.get(id)!),
      'int32',
    ),
  );
  const gen = tf.add(tf.matMul(x, p['gen.w'] as tf.Tensor2D), p['gen.b']);
  const w0 = p['dec.0.w'] as tf.Tensor2D;
  const cw = l.itemFields.length * l.e;
  const contentPre0 = tf.matMul(itemContent(l, p, x), tf.slice(w0, [0, 0], [cw, w0.shape[1]])) as tf.Tensor2D;
  const features = (rows: tf.Tensor) =>
    trunkWithJacobian(model, p, contentPre0, userPre0, tf.slice(rows, [0, 0], [-1, l.idDim]) as tf.Tensor2D)
      .h;
  const itemH = tf.mean(tf.square(tf.sub(features(own), features(gen)))).dataSync()[0];
  const itemB = tf
    .mean(tf.square(tf.sub(tf.slice(own, [0, l.idDim], [-1, 1]), tf.slice(gen, [0, l.idDim], [-1, 1]))))
    .dataSync()[0];
  const ratio = (user: number, item: number) => (user > 0 && item > 0 ? user / item : 1);
  return tf.mul(
    d,
    tf.concat([tf.fill([hDim], ratio(userH, itemH)), tf.fill([1], ratio(userB, itemB))]),
  ) as tf.Tensor1D;
}

function foldInBatch(
  model: RecommenderModel,
  requests: readonly ItemFoldInRequest[],
  heads: UserHeads,
  rowOf: ReadonlyMap<string, number>,
  base: UserBase,
  iterations: number,
  { userPre0, prec }: { userPre0: tf.Tensor2D; prec: tf.Tensor1D },
): Float32Array[] {
  const l = model.layout;
  const d = l.idDim;
  const ev = evidenceTensor(requests, heads, rowOf);
  const encoded = model.encodeItems(requests.map((r) => r.item));
  try {
    const rows = tf.tidy(() => {
      const p = model.globals();
      const start = encoded.idRepr as tf.Tensor2D; // [M, d + 1]
      if (iterations === 0) return tf.clone(start);
      const m = start.shape[0];
      const k = heads.width; // H + 1
      const hDim = k - 1;
      const w0 = p['dec.0.w'] as tf.Tensor2D;
      const cw = l.itemFields.length * l.e;
      // ANIL: content vectors are global, so encoded (supportsItemFoldIn's models are ANIL).
      const contentPre0 = tf.matMul(encoded.content!, tf.slice(w0, [0, 0], [cw, w0.shape[1]])) as tf.Tensor2D;
      // Model constants: lift, user-base weight, prior precisions of [h; b].
      const lift = tf.exp(tf.reshape(p[FOLD_IN_LIFT], []));
      const catalogItems = model.negativePool!.size;
      const baseWeight = tf.mul(tf.exp(tf.reshape(p[FOLD_IN_CATALOG], [])), base.users / catalogItems);
      const dh = tf.slice(prec, [0], [hDim]);
      const db = tf.slice(prec, [hDim], [1]);
      // The users' weights: 1 per interaction (target m), w_I over the base's mean (target 0).
      // Their sums: C = sum w q q^T [M,k,k], c1 = sum w q [M,k], n = sum w [M], t = m sum_E q.
      const c = tf.add(
        tf.mul(tf.tensor2d(base.moments, [k, k]), baseWeight),
        tf.matMul(ev.q, ev.q, true, false),
      );
      const c1 = tf.add(tf.mul(tf.tensor1d(base.mean), baseWeight), tf.sum(ev.q, 1)) as tf.Tensor2D;
      const n = tf.add(ev.counts, baseWeight) as tf.Tensor1D;
      const t = tf.mul(tf.sum(ev.q, 1), lift) as tf.Tensor2D;
      const ty = tf.mul(ev.counts, lift) as tf.Tensor1D;
      const col = (v: tf.Tensor) => tf.expandDims(v, 2) as tf.Tensor3D;
      let e = tf.slice(start, [0, 0], [m, d]) as tf.Tensor2D;
      let b = tf.zeros([m]) as tf.Tensor1D; // the bias shift
      let h0: tf.Tensor2D | null = null;
      const jitter = tf.concat([tf.fill([d], JITTER), tf.zeros([1])]);
      for (let it = 0; it < iterations; it++) {
        const { h, jac } = trunkWithJacobian(model, p, contentPre0, userPre0, e);
        h0 ??= h;
        // Gauss-Newton on s_u = q_u . x + b, x = [h(e) - h_0; 0], with h(e + de) ~ h + J^T de:
        // x's change is pJ^T de, pJ = [J, 0] ([M, d, k]).
        const x = tf.concat([tf.sub(h, h0), tf.zeros([m, 1])], 1); // [h - h_0; 0], [M, k]
        const pJ = tf.concat([jac, tf.zeros([m, d, 1])], 2) as tf.Tensor3D;
        const jDh = tf.mul(jac, dh) as tf.Tensor3D; // J diag(D_h)
        const cx = tf.squeeze(tf.matMul(c, col(x)), [2]); // [M, k]
        const aee = tf.add(tf.matMul(tf.matMul(pJ, c), pJ, false, true), tf.matMul(jDh, jac, false, true));
        const aeb = tf.matMul(pJ, col(c1)); // [M, d, 1]
        const abb = tf.reshape(tf.add(n, db), [m, 1, 1]);
        const a = tf.add(
          tf.concat([tf.concat([aee, aeb], 2), tf.concat([tf.transpose(aeb, [0, 2, 1]), abb], 2)], 1),
          tf.mul(tf.eye(d + 1), jitter),
        ) as tf.Tensor3D;
        const residE = tf.sub(tf.sub(t, cx), tf.mul(c1, tf.expandDims(b, 1))); // t - C x - c1 b
        const rhsE = tf.add(tf.matMul(pJ, col(residE)), tf.matMul(jDh, col(tf.sub(h0, h))));
        const rhsB = tf.sub(tf.sub(tf.sub(ty, tf.sum(tf.mul(c1, x), 1)), tf.mul(n, b)), tf.mul(db, b));
        const rhs = tf.concat([rhsE, tf.reshape(rhsB, [m, 1, 1])], 1) as tf.Tensor3D;
        const delta = tf.squeeze(solveSpd(a, rhs), [2]) as tf.Tensor2D; // [M, d + 1]
        e = tf.add(e, tf.slice(delta, [0, 0], [m, d])) as tf.Tensor2D;
        b = tf.add(b, tf.reshape(tf.slice(delta, [0, d], [m, 1]), [m])) as tf.Tensor1D;
      }
      return tf.concat([e, tf.add(tf.slice(start, [0, d], [m, 1]), tf.expandDims(b, 1))], 1);
    });
    const values = rows.dataSync() as Float32Array;
    const w = d + 1;
    rows.dispose();
    const out = requests.map((_, i) => values.slice(i * w, (i + 1) * w));
    if (out.some((r) => r.some((v) => !Number.isFinite(v))))
      throw new ValidationError('heads', "item fold-in produced non-finite rows (check the users' heads)");
    return out;
  } finally {
    tf.dispose([ev.q, ev.counts]);
    encoded.dispose();
  }
}
