/**
 * Item warm-up (the second phase of MetaEmb, Pan et al. 2019): a new item starts with the ID
 * representation the generator makes from its content, then, as its first interactions arrive,
 * that representation takes a few gradient steps on them, between retrains, while every network
 * parameter stays fixed. It mirrors per-user fast adaptation on the item side.
 *
 * The objective of one item with interactions (u_k, y_k), k = 1..n, is a MAP estimate with a
 * Gaussian prior centred on where it started (the generator's output, or a warm item's own row):
 *
 *   L(r) = (1/n) * sum_k loss(f(u_k, item, r), y_k)
 *          + (prior / n) * ||e - e0||^2 + (biasPrior / n) * (b - b0)^2
 *
 * for the row r = [e, b] (ID embedding e, ID bias b), so one or two interactions move it a little
 * and more move it further. The bias has its own pull: an item's mean level is what its first
 * ratings tell most reliably (a bias model reads it from them), and the embedding what they tell
 * least; by default both are pulled alike. For a rating model, after the gradient steps each ID
 * bias is set to its exact minimiser given the rest of its row (the objective is quadratic in it).
 * Users are scored with the global (meta-learned) parameters and their features (and ID rows,
 * when the model has them), not with per-user adapted heads: the item's row is shared by all users.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from './errors';
import { encodeRows } from './features/encoder';
import type { RecommenderModel } from './model/model';
import {
  headOutput,
  itemContent,
  itemIdRepr,
  sharedTrunkFeatures,
  userFirstLayer,
  userIdRepr,
} from './model/network';
import type { Params } from './model/params';
import type { ItemRecord, UserRecord } from './types';

/** One item and the interactions it has received so far. */
export interface ItemWarmUpRequest {
  item: ItemRecord;
  /** Who interacted (features, and id for models with user IDs) and the rating or 0/1 label. */
  interactions: readonly { user: UserRecord; value: number }[];
}

/** Settings of {@link warmUpItems}; `lr * prior` must be below 1 (see DEFAULT_WARMUP). */
export interface WarmUpOptions {
  /** Gradient steps (default 20). 0 returns the starting rows. */
  steps?: number;
  /** Step size (default 0.04). */
  lr?: number;
  /** Weight of the pull towards the starting row, in interactions (default 20; 0 turns it off). */
  prior?: number;
  /**
   * Weight of the pull of the row's ID-bias column towards its start, in interactions (default:
   * `prior`). Smaller lets a new item's first ratings set its level sooner than its embedding.
   */
  biasPrior?: number;
}

/** {@link WarmUpOptions} resolved: every setting set. */
export type ResolvedWarmUp = Required<WarmUpOptions>;

/**
 * Defaults of {@link WarmUpOptions}. Chosen on MovieLens-100K validation users with their items'
 * ID rows hidden (apps/trainer/README.md, "Item warm-up"): a new item with a handful of ratings
 * is better served by a strong pull towards the generator (prior 20, i.e. the generator counts
 * as 20 interactions) and short steps; prior 1 with lr 0.1 overfitted those few ratings (MAE
 * worse than no warm-up). With one interaction the pull alone moves a row by 2 * lr * prior of
 * its distance per step, so lr * prior >= 1 overshoots and diverges: such settings are refused.
 */
export const DEFAULT_WARMUP: Readonly<Required<Omit<WarmUpOptions, 'biasPrior'>>> = {
  steps: 20,
  lr: 0.04,
  prior: 20,
};

export type { WarmItemIds } from './model/warm-items';

/**
 * Warms up the ID representation of each requested item on its interactions, all items in one
 * batched computation (each item's row depends only on its own interactions). Items without
 * interactions keep their starting row. Deterministic: no sampling. `options` override the
 * model's own settings (`model.itemWarmUp`), which override DEFAULT_WARMUP.
 */
export function warmUpItems(
  model: RecommenderModel,
  requests: readonly ItemWarmUpRequest[],
  options: WarmUpOptions = {},
): Map<string, Float32Array> {
  const { steps, lr, prior, biasPrior } = checkWarmUpOptions({ ...model.itemWarmUp, ...options });
  if (model.layout.idDim === 0) {
    throw new ValidationError('model', 'has no item ID embeddings (config.idEmbeddings); nothing to warm up');
  }
  const out = new Map<string, Float32Array>();
  if (Array.isArray(requests) && requests.length === 0) return out;
  const batch = encodeBatch(model, requests);
  let values: Float32Array;
  try {
    const rows = tf.tidy(() => {
      const p = model.globals();
      const start = itemIdRepr(p, batch.itemX, batch.idIndex, batch.warm) as tf.Tensor2D;
      if (batch.count === 0) return start;
      // Everything that does not depend on the rows, computed once for all steps.
      const parts = warmUpParts(model, p, batch);
      const grad = tf.grad((x: tf.Tensor) =>
        warmUpLoss(model, p, parts, x as tf.Tensor2D, start, prior, biasPrior),
      );
      let r = start;
      for (let s = 0; s < steps; s++) {
        // One scope per step: only the new rows outlive it.
        const next = tf.tidy(() => tf.sub(r, tf.mul(grad(r), lr)) as tf.Tensor2D);
        if (r !== start) r.dispose();
        r = next;
      }
      // A rating model's ID biases end at their exact minimiser given the rest of the rows.
      if (model.layout.task !== 'rating' || steps === 0) return r;
      const solved = solveBiases(model, p, parts, r, start, biasPrior);
      if (r !== start) r.dispose();
      return solved;
    });
    values = rows.dataSync() as Float32Array;
    rows.dispose();
  } finally {
    disposeBatch(batch);
  }
  const width = model.layout.idDim + 1;
  requests.forEach((req, i) => out.set(req.item.id, values.slice(i * width, (i + 1) * width)));
  if ([...out.values()].some((row) => row.some((v) => !Number.isFinite(v)))) {
    throw new ValidationError('options.lr', 'warm-up diverged (non-finite rows); use a smaller step');
  }
  return out;
}

/** The encoded items and interactions of a warm-up batch (K interactions over M items). */
export interface WarmUpBatch {
  /** Item feature rows [M, di], their `id.item` rows [M] (0 = none) and 1 where used [M]. */
  itemX: tf.Tensor2D;
  idIndex: tf.Tensor1D;
  warm: tf.Tensor1D;
  /** Interaction k: its item's index [K] int32 (also on the host), user rows [K, 1, du], labels [K]. */
  itemOf: tf.Tensor1D;
  itemOfHost: Int32Array;
  userX: tf.Tensor3D;
  userIdIndex: tf.Tensor1D | null;
  y: tf.Tensor1D;
  /** 1 / n of the interaction's item [K] and per item 1 / max(n, 1) [M]. */
  weight: tf.Tensor1D;
  perItem: tf.Tensor1D;
  count: number;
}

/**
 * The parts of a warm-up batch's predictions that do not depend on the items' ID rows (all
 * parameters are the global ones, so the first layer splits into a user half, an item-content
 * half and an ID half, as in serving's precomputed `pre0`).
 */
export interface WarmUpParts {
  /** Per interaction: the user half of the first layer plus its bias [K, 1, h0]. */
  userPre0: tf.Tensor3D;
  /** Per item: the content half of the first layer [M, h0] and the additive offset without the ID bias [M, 1]. */
  contentPre0: tf.Tensor2D;
  offset: tf.Tensor2D;
  /** The ID embedding's rows of the first layer [idDim, h0]. */
  idRows: tf.Tensor2D;
  itemOfHost: Int32Array;
  y: tf.Tensor1D;
  weight: tf.Tensor1D;
  perItem: tf.Tensor1D;
}

/** Computes a batch's {@link WarmUpParts} (tensors owned by the caller's scope). */
export function warmUpParts(model: RecommenderModel, p: Params, batch: WarmUpBatch): WarmUpParts {
  const l = model.layout;
  const content = itemContent(l, p, batch.itemX);
  const cw = content.shape[1];
  const w0 = p['dec.0.w'] as tf.Tensor2D;
  const h0 = w0.shape[1];
  const bias = tf.matMul(batch.itemX, p['emb.itemBias']) as tf.Tensor2D;
  return {
    userPre0: userFirstLayer(
      l,
      p,
      batch.userX,
      batch.userIdIndex ? userIdRepr(p, batch.userIdIndex) : undefined,
    ),
    contentPre0: tf.matMul(content, tf.slice(w0, [0, 0], [cw, h0])),
    offset: l.task === 'rating' ? (tf.add(bias, model.globalMean) as tf.Tensor2D) : bias,
    idRows: tf.slice(w0, [cw, 0], [l.idDim, h0]),
    itemOfHost: batch.itemOfHost,
    y: batch.y,
    weight: batch.weight,
    perItem: batch.perItem,
  };
}

/**
 * The warm-up objective summed over items (each item's term depends only on its own row of
 * `rows`, so its gradient is the per-item gradient); exported for the gradient checks.
 */
export function warmUpLoss(
  model: RecommenderModel,
  p: Params,
  parts: WarmUpParts,
  rows: tf.Tensor2D,
  start: tf.Tensor2D,
  prior: number,
  biasPrior = prior,
): tf.Scalar {
  const l = model.layout;
  const z = warmUpPredictions(model, p, parts, rows);
  const e = l.task === 'rating' ? tf.square(tf.sub(z, parts.y)) : tf.sub(tf.softplus(z), tf.mul(parts.y, z)); // -log likelihood of a logit, stable form
  const data = tf.sum(tf.mul(e, parts.weight));
  if (prior === 0 && biasPrior === 0) return data as tf.Scalar;
  // Per column: the embedding's pull, then the ID bias's.
  const pulls = tf.concat([tf.fill([1, l.idDim], prior), tf.fill([1, 1], biasPrior)], 1);
  const pull = tf.sum(tf.mul(tf.sum(tf.mul(tf.square(tf.sub(rows, start)), pulls), 1), parts.perItem));
  return tf.add(data, pull) as tf.Scalar;
}

/** The network's output for every interaction of a warm-up batch with the items' rows `rows` ([K]). */
export function warmUpPredictions(
  model: RecommenderModel,
  p: Params,
  parts: WarmUpParts,
  rows: tf.Tensor2D,
): tf.Tensor1D {
  const l = model.layout;
  const [m, h0] = parts.contentPre0.shape;
  // Per item: first-layer item half (content + ID embedding) and offset (+ ID bias), then
  // expanded to one row per interaction.
  const itemPre0: tf.Tensor2D = tf.add(
    parts.contentPre0,
    tf.matMul(tf.slice(rows, [0, 0], [m, l.idDim]), parts.idRows),
  );
  const offset: tf.Tensor2D = tf.add(parts.offset, tf.slice(rows, [0, l.idDim], [m, 1]));
  const k = parts.itemOfHost.length;
  const perInteraction = expandRows(tf.concat([itemPre0, offset], 1), parts.itemOfHost);
  const features = sharedTrunkFeatures(
    l,
    p,
    tf.reshape(tf.slice(perInteraction, [0, 0], [k, h0]), [k, 1, h0]) as tf.Tensor3D,
    parts.userPre0,
  );
  const pred = headOutput(
    p,
    features,
    tf.reshape(tf.slice(perInteraction, [0, h0], [k, 1]), [k, 1, 1]) as tf.Tensor3D,
  );
  return tf.reshape(pred, [-1]) as tf.Tensor1D;
}

/**
 * The rows with each item's ID bias set to its exact minimiser of the (rating) warm-up objective,
 * the rest of the row held: a rating is linear in the bias with slope 1, so with n interactions,
 * residuals y_k - z_k at the current bias b and start b0,
 *
 *   b* = (sum_k (y_k - z_k) + n b + biasPrior b0) / (n + biasPrior)
 *
 * (items without interactions keep b = b0). Gradient steps alone left a weakly pulled bias short
 * of it (about 80% of the way after 20 steps of 0.04).
 */
function solveBiases(
  model: RecommenderModel,
  p: Params,
  parts: WarmUpParts,
  rows: tf.Tensor2D,
  start: tf.Tensor2D,
  biasPrior: number,
): tf.Tensor2D {
  const [m, width] = rows.shape;
  // On the host: K residuals and M rows (a segment sum is not a kernel of every backend).
  const residual = tf.tidy(() => tf.sub(parts.y, warmUpPredictions(model, p, parts, rows)).dataSync());
  const sums = new Float64Array(m);
  const counts = new Float64Array(m);
  parts.itemOfHost.forEach((i, k) => {
    sums[i] += residual[k] as number;
    counts[i]++;
  });
  const out = Float32Array.from(rows.dataSync());
  const b0 = start.dataSync();
  for (let i = 0; i < m; i++) {
    const at = i * width + width - 1;
    const denom = counts[i] + biasPrior;
    if (denom > 0) out[at] = (sums[i] + counts[i] * out[at] + biasPrior * (b0[at] as number)) / denom;
  }
  return tf.tensor2d(out, [m, width]);
}

/**
 * Row `host[k]` of x for every interaction k ([K, c]), both ways on the host: the gradient sums
 * each item's rows, exact and O(K c), where the generic GatherV2 gradient (a one-hot product,
 * gradients.ts) costs O(K M c) and made 512 items x 50 interactions take seconds per call.
 */
function expandRows(x: tf.Tensor2D, host: Int32Array): tf.Tensor2D {
  const [m, c] = x.shape;
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    // Copied on the host: the wasm backend's GatherV2 was most of a warm-up's time.
    value: tf.tensor2d(gatherRows((args[0] as tf.Tensor).dataSync() as Float32Array, host, c), [
      host.length,
      c,
    ]),
    gradFunc: (dy: tf.Tensor) => {
      const d = dy.dataSync();
      const out = new Float32Array(m * c);
      for (let k = 0; k < host.length; k++) {
        const from = k * c;
        const to = host[k] * c;
        for (let j = 0; j < c; j++) out[to + j] += d[from + j];
      }
      return tf.tensor2d(out, [m, c]);
    },
  })) as (input: tf.Tensor) => tf.Tensor;
  return op(x) as tf.Tensor2D;
}

/** Rows `index[k]` of `values` (row-major, `c` columns), in order. */
function gatherRows(values: Float32Array, index: Int32Array, c: number): Float32Array {
  const out = new Float32Array(index.length * c);
  for (let k = 0; k < index.length; k++) out.set(values.subarray(index[k] * c, (index[k] + 1) * c), k * c);
  return out;
}

/** Encodes a warm-up request list; bad input is a ValidationError naming the field. */
export function encodeBatch(model: RecommenderModel, requests: readonly ItemWarmUpRequest[]): WarmUpBatch {
  if (!Array.isArray(requests)) throw new ValidationError('requests', 'must be an array');
  const seen = new Set<string>();
  const users: UserRecord[] = [];
  const itemOf: number[] = [];
  const y: number[] = [];
  const weight: number[] = [];
  const perItem: number[] = [];
  const [lo, hi] = model.config.ratingRange;
  requests.forEach((req, i) => {
    const id = req?.item?.id;
    if (typeof id !== 'string' || id === '')
      throw new ValidationError(`requests[${i}].item.id`, 'is required');
    if (seen.has(id)) throw new ValidationError(`requests[${i}].item.id`, `"${id}" is listed twice`);
    seen.add(id);
    const list: ItemWarmUpRequest['interactions'] = req.interactions;
    if (!Array.isArray(list)) throw new ValidationError(`requests[${i}].interactions`, 'must be an array');
    const n = list.length;
    perItem.push(1 / Math.max(n, 1));
    list.forEach((it, k) => {
      const at = `requests[${i}].interactions[${k}]`;
      if (!it?.user || typeof it.user.id !== 'string')
        throw new ValidationError(`${at}.user.id`, 'is required');
      const v = it.value;
      if (typeof v !== 'number' || !Number.isFinite(v))
        throw new ValidationError(`${at}.value`, 'must be a finite number');
      if (model.config.task === 'rating' ? v < lo || v > hi : v !== 0 && v !== 1) {
        const range = model.config.task === 'rating' ? `in [${lo}, ${hi}]` : '0 or 1 (implicit feedback)';
        throw new ValidationError(`${at}.value`, `must be ${range}, got ${v}`);
      }
      users.push(it.user);
      itemOf.push(i);
      y.push(v);
      weight.push(1 / n);
    });
  });
  const m = requests.length;
  const k = users.length;
  const items = requests.map((r) => r.item);
  const idx = items.map((it) => model.itemIdIndex.get(it.id) ?? 0);
  return {
    itemX: tf.tensor2d(encodeRows(model.spec.item, items, model.encodeStats), [m, model.layout.di]),
    idIndex: tf.tensor1d(idx, 'int32'),
    warm: tf.tensor1d(idx.map((r) => (r > 0 ? 1 : 0))),
    itemOf: tf.tensor1d(itemOf, 'int32'),
    itemOfHost: Int32Array.from(itemOf),
    userX: model.encodeUsers(users),
    userIdIndex: model.layout.userIdDim > 0 ? tf.tensor1d(model.userIdRows(users), 'int32') : null,
    y: tf.tensor1d(y),
    weight: tf.tensor1d(weight),
    perItem: tf.tensor1d(perItem),
    count: k,
  };
}

/** Frees the tensors of a warm-up batch. */
export function disposeBatch(b: WarmUpBatch): void {
  tf.dispose([b.itemX, b.idIndex, b.warm, b.itemOf, b.userX, b.y, b.weight, b.perItem]);
  if (b.userIdIndex) b.userIdIndex.dispose();
}

/**
 * `o` over DEFAULT_WARMUP (`biasPrior` unset: the resolved `prior`), checked (a ValidationError
 * naming `options.<field>`).
 */
export function checkWarmUpOptions(o: WarmUpOptions): ResolvedWarmUp {
  const v = { ...DEFAULT_WARMUP, ...o };
  const biasPrior = o.biasPrior ?? v.prior;
  if (!(Number.isInteger(v.steps) && v.steps >= 0))
    throw new ValidationError('options.steps', 'must be an integer >= 0');
  if (!(Number.isFinite(v.lr) && v.lr > 0))
    throw new ValidationError('options.lr', 'must be a finite number > 0');
  if (!(Number.isFinite(v.prior) && v.prior >= 0))
    throw new ValidationError('options.prior', 'must be a finite number >= 0');
  if (v.lr * v.prior >= 1)
    throw new ValidationError(
      'options.lr',
      `lr * prior must be below 1 (got ${v.lr} * ${v.prior}): the pull towards the starting row would overshoot and diverge`,
    );
  if (!(Number.isFinite(biasPrior) && biasPrior >= 0))
    throw new ValidationError('options.biasPrior', 'must be a finite number >= 0');
  if (v.lr * biasPrior >= 1)
    throw new ValidationError(
      'options.biasPrior',
      `lr * biasPrior must be below 1 (got ${v.lr} * ${biasPrior}): the pull would overshoot and diverge`,
    );
  return { ...v, biasPrior };
}
