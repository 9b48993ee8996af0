import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from './errors';
import type { AdaptSettings } from './model/adapt-settings';
import { buildRatedSet, disposeRatedSet, type RatedSet } from './model/batch';
import { ADAPT_CATALOG_SAMPLE, ADAPT_CATALOG_SAMPLE_PER_USER } from './model/catalog-fold-in';
import {
  catalogInputs,
  catalogSet,
  seededCatalogSample,
  sharedCatalogGram,
} from './negatives/catalog-sample';
import { trunkIgnoresUser } from './model/layout';
import { innerLoop, inputsFor } from './model/inner';
import type { ItemRows } from './model/encoded-items';
import type { EncodedItems, RecommenderModel } from './model/model';
import {
  forward,
  sharedTrunkFeatures,
  trunk,
  userFirstLayer,
  userIdRepr,
  type NetInputs,
} from './model/network';
import { predictiveVarianceAt, priorScale, PRIOR_NOISE, PRIOR_PRECISION } from './model/bayes-head';
import type { Params } from './model/params';
import type { WarmItemIds } from './item-warmup';
import { requestRng, withSampledNegatives } from './negatives/augment';
import type { ItemCatalog, ItemRecord, Rating, UserRecord } from './types';
import { addNeighbourScores, neighbourScores, supportRows } from './neighbours/neighbourhood';
import { addContentScores, contentProfile } from './neighbours/content';

/** One user to adapt: raw features and the support ratings (items resolved through the catalog). */
export interface AdaptRequest {
  user: UserRecord;
  support: Rating[];
}

/**
 * Overrides of the model's adaptation defaults: any of the {@link AdaptSettings} (`steps`, `lr`,
 * `ridge`; each absent one is the model's `adaptDefaults` one, and Meta-SGD models use their
 * learned rates unless `lr` is set), plus the options below. `ridge` needs a model whose sole
 * local group is `output` (see supportsClosedFormHead); null forces gradient steps.
 */
export interface AdaptOptions extends Partial<AdaptSettings> {
  /**
   * Models with a Bayesian last layer (`config.bayesHead`) adapt their head to its posterior mean
   * by default (`steps`, `lr` and `ridge` are then unused); `false` forces the `ridge` or gradient
   * step adaptation instead. `true` on a model without the layer is an error.
   */
  bayes?: boolean;
  /** Warmed item ID representations (see warmUpItems) for support items that have one. */
  warmItems?: WarmItemIds;
  /**
   * Implicit models with sampled negatives (`config.negatives`): negatives drawn per support
   * positive from `model.negativePool` (default: `config.negatives.perPositive`; 0: none). The
   * draws are seeded by `seed` (default 0), the user id and the support items, so the same
   * request always adapts the same way, alone or in any batch.
   */
  negatives?: number;
  seed?: number;
}

/** Per-user adapted local parameters of B users ([B, ...] tensors). Call `dispose()` when done. */
export class AdaptedUsers {
  private disposed = false;

  constructor(
    readonly model: RecommenderModel,
    readonly userIds: string[],
    /** Adapted local parameters [B, ...]. */
    readonly local: Params,
    /** Encoded users [B, 1, du]. */
    readonly userX: tf.Tensor3D,
    /** With a shared first layer: its user half plus bias [B, 1, h0] (see userFirstLayer). */
    readonly userPre0: tf.Tensor3D | null = null,
    /** With user IDs: each user's row of `id.user` [B, 1, userIdDim] (row 0 for unknown users). */
    readonly userId: tf.Tensor3D | null = null,
    /**
     * Bayesian last layer: each user's masked support design [h_s, 1] [B, S, H+1], which with the
     * model's prior gives the head's posterior covariance (see predictiveVariance).
     */
    readonly design: tf.Tensor3D | null = null,
    /**
     * With an item neighbourhood (model.neighbourhood): each user's support items as model item
     * rows (neighbours/neighbourhood.ts supportRows), which the neighbourhood term sums over.
     */
    readonly supportItems: readonly Int32Array[] | null = null,
    /**
     * With a content neighbourhood (model.contentNeighbourhood): each user's content profile, the
     * sum of its support items' content vectors (null: none has content).
     */
    readonly contentProfiles: readonly (Float32Array | null)[] | null = null,
  ) {}

  get size(): number {
    return this.userIds.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Bytes of the tensors (and support rows) these users hold (what keeping them alive costs). */
  get bytes(): number {
    const support =
      (this.supportItems ?? []).reduce((sum, rows) => sum + rows.byteLength, 0) +
      (this.contentProfiles ?? []).reduce((sum, p) => sum + (p?.byteLength ?? 0), 0);
    return this.tensors().reduce((sum, t) => sum + t.size * (t.dtype === 'bool' ? 1 : 4), support);
  }

  /**
   * User `index` alone, as a new one-user AdaptedUsers with its own copy of the tensors: a cache
   * can keep one user without keeping the whole batch alive. Dispose both independently.
   */
  user(index: number): AdaptedUsers {
    if (this.disposed) throw new Error('AdaptedUsers.user: already disposed');
    if (!Number.isInteger(index) || index < 0 || index >= this.size)
      throw new RangeError(`AdaptedUsers.user: index ${index} is outside 0..${this.size - 1}`);
    // Every tensor is [B, ...]: row `index` of each is this user's state.
    const row = <T extends tf.Tensor>(t: T): T => tf.slice(t, [index], [1]);
    const local: Params = {};
    for (const [name, t] of Object.entries(this.local)) local[name] = row(t);
    return new AdaptedUsers(
      this.model,
      [this.userIds[index] as string],
      local,
      row(this.userX),
      this.userPre0 ? row(this.userPre0) : null,
      this.userId ? row(this.userId) : null,
      this.design ? row(this.design) : null,
      this.supportItems ? [this.supportItems[index] as Int32Array] : null,
      this.contentProfiles ? [this.contentProfiles[index] ?? null] : null,
    );
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose(this.tensors());
  }

  private tensors(): tf.Tensor[] {
    return [
      ...Object.values(this.local),
      this.userX,
      ...(this.userPre0 ? [this.userPre0] : []),
      ...(this.userId ? [this.userId] : []),
      ...(this.design ? [this.design] : []),
    ];
  }
}

/**
 * Adapts B users at once: support sets are padded and masked, and every user's local parameters
 * take `steps` gradient steps in one batched computation. A user with an empty support set keeps
 * the meta-learned initialisation.
 */
export function adapt(
  model: RecommenderModel,
  requests: readonly AdaptRequest[],
  items: ItemCatalog,
  options: AdaptOptions = {},
): AdaptedUsers {
  if (!Array.isArray(requests) || requests.length === 0) {
    throw new ValidationError('requests', 'must be a non-empty array');
  }
  const steps = options.steps ?? model.adaptDefaults.steps;
  if (!(Number.isInteger(steps) && steps >= 0))
    throw new ValidationError('options.steps', 'must be an integer >= 0');
  if (options.lr !== undefined && !(Number.isFinite(options.lr) && options.lr >= 0)) {
    throw new ValidationError('options.lr', 'must be a finite number >= 0');
  }
  if (options.bayes !== undefined && typeof options.bayes !== 'boolean')
    throw new ValidationError('options.bayes', 'must be true or false');
  if (options.bayes && !model.config.bayesHead)
    throw new ValidationError('options.bayes', 'the model has no Bayesian head (config.bayesHead)');
  const bayes = options.bayes ?? model.config.bayesHead === true;
  if (bayes && !model.supportsRidge)
    throw new ValidationError('options.bayes', 'needs a model whose only local group is output (ANIL)');
  const ridge = options.ridge === undefined ? (model.adaptDefaults.ridge ?? null) : options.ridge;
  const evidenceGrowth = options.evidenceGrowth ?? model.adaptDefaults.evidenceGrowth ?? 0;
  if (!(Number.isFinite(evidenceGrowth) && evidenceGrowth >= 0))
    throw new ValidationError('options.evidenceGrowth', 'must be a finite number >= 0');
  if (ridge !== null) {
    if (!(Number.isFinite(ridge) && ridge > 0))
      throw new ValidationError('options.ridge', 'must be a finite number > 0 or null');
    if (!model.supportsRidge) {
      throw new ValidationError(
        'options.ridge',
        'needs a model whose only local group is output (ANIL); use gradient steps',
      );
    }
  }
  requests.forEach((r, i) => {
    if (!r?.user || typeof r.user.id !== 'string')
      throw new ValidationError(`requests[${i}].user.id`, 'is required');
  });
  const support = buildRatedSet(model, supportSets(model, requests, options), items, {
    path: 'requests',
    list: 'support',
    rowsByRecord: model.supportRows,
    ...(model.negativePool && { poolRows: model.negativePool.rowOf }),
    ...(options.warmItems && { warmItems: options.warmItems }),
    // Known users get their own row of id.user, everyone else the cold-user row 0.
    ...(model.layout.userIdDim > 0 && { userIdRows: model.userIdRows(requests.map((r) => r.user)) }),
  });
  let userX: tf.Tensor3D | undefined;
  let userId: tf.Tensor3D | null = null;
  let design: tf.Tensor3D | null = null;
  let catalog: RatedSet | null = null;
  let gram: tf.Tensor3D | null = null;
  try {
    // A trunk that ignores the user gives every user the same catalog Gram matrix: computed once
    // per model version; otherwise each user's catalog rows go through the trunk with theirs.
    if (model.layout.foldIn && trunkIgnoresUser(model.layout))
      gram = sharedCatalogGram(model, adaptCatalogSample(model, false), items);
    else if (model.layout.foldIn)
      catalog = catalogSet(
        model,
        adaptCatalogSample(model, true),
        requests.length,
        items,
        model.layout.userIdDim > 0 ? model.userIdRows(requests.map((r) => r.user)) : undefined,
      );
    userX = model.encodeUsers(requests.map((r) => r.user));
    const ux = userX;
    userId = support.userIdIndex ? tf.tidy(() => userIdRepr(model.globals(), support.userIdIndex!)) : null;
    const lr = options.lr ?? (model.innerLrs ? model.innerLrs : model.adaptDefaults.lr);
    const local = tf.tidy(() => {
      const global = model.globals();
      const inputs = inputsFor(model.layout, global, ux, support);
      return innerLoop(model.layout, global, model.localNames(), inputs, support, model.globalMean, {
        ...(catalog && { catalog: catalogInputs(model, global, ux, catalog) }),
        ...(gram && { catalogGram: gram }),
        ...(model.layout.foldIn && { evidenceGrowth }),
        steps,
        lr,
        releaseSteps: true,
        collapseUserRows: true,
        ...(bayes
          ? { bayes, onPosterior: (x: tf.Tensor3D) => (design = tf.keep(x)) }
          : ridge !== null && { ridge }),
      });
    });
    const userPre0 = model.firstLayerIsGlobal
      ? tf.tidy(() => userFirstLayer(model.layout, model.globals(), ux, userId ?? undefined))
      : null;
    return new AdaptedUsers(
      model,
      requests.map((r) => r.user.id),
      local,
      ux,
      userPre0,
      userId,
      design,
      model.neighbourhood
        ? requests.map((r) =>
            supportRows(
              model,
              r.support.filter((x: Rating) => x.value > 0).map((x: Rating) => x.itemId),
            ),
          )
        : null,
      model.contentNeighbourhood
        ? requests.map((r) => contentProfile(model, supportRecords(r.support, items)))
        : null,
    );
  } catch (err) {
    tf.dispose([...(userX ? [userX] : []), ...(userId ? [userId] : []), ...(design ? [design] : [])]);
    throw err;
  } finally {
    disposeRatedSet(support);
    if (catalog) disposeRatedSet(catalog);
  }
}

/** The records of a support set's positive items (each once; ids the catalog lacks skipped). */
function supportRecords(support: readonly Rating[], items: ItemCatalog): ItemRecord[] {
  const ids = new Set(support.filter((x) => x.value > 0).map((x) => x.itemId));
  const records: ItemRecord[] = [];
  for (const id of ids) {
    const record = items.get(id);
    if (record) records.push(record);
  }
  return records;
}

const catalogSamples = new WeakMap<object, Map<number, string[]>>();

/**
 * The catalog items adaptation folds users in against: a fixed seeded sample of the pool, of
 * ADAPT_CATALOG_SAMPLE items when every user shares the Gram matrix (computed once per model
 * version) and of ADAPT_CATALOG_SAMPLE_PER_USER when each user's catalog rows go through the
 * trunk with the user's own features on every call.
 */
function adaptCatalogSample(model: RecommenderModel, perUser: boolean): string[] {
  const pool = model.negativePool!;
  const size = perUser ? ADAPT_CATALOG_SAMPLE_PER_USER : ADAPT_CATALOG_SAMPLE;
  let bySize = catalogSamples.get(pool);
  if (!bySize) catalogSamples.set(pool, (bySize = new Map()));
  let ids = bySize.get(size);
  if (!ids) bySize.set(size, (ids = seededCatalogSample(pool, size, model.config.seed)));
  return ids;
}

/**
 * The support sets adapted on: as given, or for implicit models with sampled negatives, each
 * user's positives plus negatives from the model's pool (seeded per request).
 */
function supportSets(model: RecommenderModel, requests: readonly AdaptRequest[], options: AdaptOptions) {
  // The catalog fold-in sets positives against the catalog, not against sampled negatives.
  const per = model.layout.foldIn ? 0 : (options.negatives ?? model.config.negatives?.perPositive ?? 0);
  if (options.negatives !== undefined && !(Number.isInteger(per) && per >= 0 && per <= 100))
    throw new ValidationError('options.negatives', 'must be an integer in [0, 100]');
  const seed = options.seed ?? 0;
  if (!Number.isInteger(seed)) throw new ValidationError('options.seed', 'must be an integer');
  const pool = model.negativePool;
  if (per === 0 || !model.rankingScores) return requests.map((r) => r.support);
  if (!pool)
    throw new ValidationError(
      'model',
      'has config.negatives but no negative pool (metaTrain or buildNegativePool builds it)',
    );
  return requests.map((r) => {
    if (!Array.isArray(r.support)) return r.support; // buildRatedSet names the field
    const own = new Set(r.support.map((x) => x?.itemId));
    return withSampledNegatives(r.support, pool, per, requestRng(seed, r.user.id, r.support), own);
  });
}

/**
 * Predictions for one adapted user on encoded items: ratings clamped to the range, probabilities,
 * or, for implicit models with sampled negatives, ranking scores (raw logits: higher ranks first).
 */
export function score(adapted: AdaptedUsers, userIndex: number, items: EncodedItems): Float32Array {
  const model = adapted.model;
  checkScoring(adapted, userIndex, items);
  if (items.size === 0) return new Float32Array(0);
  const out = tf.tidy(() => {
    const p = userParams(adapted, userIndex);
    const pred = forward(model.layout, p, userItemInputs(adapted, userIndex, items), model.globalMean);
    const [lo, hi] = model.config.ratingRange;
    if (model.config.task === 'rating') return tf.clipByValue(pred, lo, hi);
    return model.rankingScores ? pred : tf.sigmoid(pred);
  });
  const values = out.dataSync() as Float32Array;
  out.dispose();
  addNeighbourScores(neighbourScores(model, adapted.supportItems?.[userIndex]), items, values);
  addContentScores(model, adapted.contentProfiles?.[userIndex], items, values);
  return values;
}

/** The global parameters with user `userIndex`'s adapted local ones ([1, ...]). */
function userParams(adapted: AdaptedUsers, userIndex: number): Params {
  const p: Params = adapted.model.globals();
  for (const [name, t] of Object.entries(adapted.local)) {
    p[name] = tf.slice(t, [userIndex, ...t.shape.slice(1).map(() => 0)], [1, ...t.shape.slice(1)]);
  }
  return p;
}

/** Network inputs of one adapted user on encoded items (one batch of N items). */
function userItemInputs(adapted: AdaptedUsers, userIndex: number, items: EncodedItems): NetInputs {
  const row = (t: tf.Tensor3D) => tf.slice(t, [userIndex, 0, 0], [1, 1, -1]);
  return {
    userX: row(adapted.userX),
    itemX: tf.expandDims(items.x, 0) as tf.Tensor3D,
    itemContent: items.content ? (tf.expandDims(items.content, 0) as tf.Tensor3D) : undefined,
    itemId: items.idRepr ? (tf.expandDims(items.idRepr, 0) as tf.Tensor3D) : undefined,
    itemHidden: items.hidden ?? undefined,
    offset: items.offset ?? undefined,
    itemPre0: items.pre0 ?? undefined,
    userPre0: adapted.userPre0 ? row(adapted.userPre0) : undefined,
    userId: adapted.userId ? row(adapted.userId) : undefined,
  };
}

/** Checks shared by the scorers: a live batch, a valid user index, items of this model version. */
function checkScoring(adapted: AdaptedUsers, userIndex: number, items: EncodedItems): void {
  if (adapted.isDisposed) throw new ValidationError('adapted', 'has been disposed');
  if (!(Number.isInteger(userIndex) && userIndex >= 0 && userIndex < adapted.size)) {
    throw new ValidationError('userIndex', `must be an integer in [0, ${adapted.size})`);
  }
  if (items.model !== adapted.model || items.modelVersion !== adapted.model.version) {
    throw new ValidationError(
      'items',
      'were encoded for another model or version; call model.encodeItems again',
    );
  }
}

/**
 * Predictive variance of each item's score for one user adapted with the Bayesian last layer:
 * z Sigma z^T + sigma^2 for the item's trunk features z = [h, 1], Sigma the user's posterior
 * covariance of the head, sigma^2 the meta-learned noise (rating units squared; logits for implicit
 * models). With no support it is the prior's. Meant for exploration (e.g. optimistic scores for
 * new items); not needed for scoring.
 */
export function predictiveVariance(
  adapted: AdaptedUsers,
  userIndex: number,
  items: EncodedItems,
): Float32Array {
  checkScoring(adapted, userIndex, items);
  const model = adapted.model;
  if (!adapted.design)
    throw new ValidationError('adapted', 'was not adapted with the Bayesian head (config.bayesHead)');
  if (items.size === 0) return new Float32Array(0);
  const out = tf.tidy(() => {
    const p = userParams(adapted, userIndex);
    const { features } = trunk(model.layout, p, userItemInputs(adapted, userIndex, items), model.globalMean);
    const { d, noise } = priorScale(p[PRIOR_PRECISION], p[PRIOR_NOISE]);
    const design = tf.slice(adapted.design!, [userIndex, 0, 0], [1, -1, -1]);
    return predictiveVarianceAt(design, d, noise, features);
  });
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
}

/**
 * Predictions of several users of one adapted batch on the same encoded items, in one batched
 * computation: a Float32Array of `userIndices.length * items.size` values, row j holding what
 * `score(adapted, userIndices[j], items)` returns (equal up to float rounding).
 *
 * With a shared trunk and precomputed first-layer halves (ANIL), the trunk runs once per
 * distinct first-layer user half (users with the same features share it: the trunk does not
 * depend on the support set) and the adapted heads of that group are one [N, H] x [H, G]
 * matMul. Other configurations score the users one by one.
 */
export function scoreBatch(
  adapted: AdaptedUsers,
  userIndices: readonly number[],
  items: EncodedItems,
): Float32Array {
  const model = adapted.model;
  if (adapted.isDisposed) throw new ValidationError('adapted', 'has been disposed');
  userIndices.forEach((u, j) => {
    if (!(Number.isInteger(u) && u >= 0 && u < adapted.size))
      throw new ValidationError(`userIndices[${j}]`, `must be an integer in [0, ${adapted.size})`);
  });
  if (items.model !== model || items.modelVersion !== model.version) {
    throw new ValidationError(
      'items',
      'were encoded for another model or version; call model.encodeItems again',
    );
  }
  const n = items.size;
  const out = new Float32Array(userIndices.length * n);
  if (userIndices.length === 0 || n === 0) return out;
  const userPre0 = adapted.userPre0;
  if (!(model.firstLayerIsGlobal && userPre0 && items.has('pre0') && items.has('offset'))) {
    userIndices.forEach((u, j) => out.set(score(adapted, u, items), j * n));
    return out;
  }
  // Users grouped by their first-layer user half (bitwise equal rows give equal trunk features).
  const host = hostParts(adapted, userPre0);
  const groups = new Map<string, number[]>();
  userIndices.forEach((u, j) => {
    const key = host.userKeys[u] as string;
    const g = groups.get(key);
    if (g) g.push(j);
    else groups.set(key, [j]);
  });
  // The head parameters (out.w [B, H, 1] or [H, 1], out.b [B, 1] or [1]) are small.
  const global = model.globals();
  const head = (name: string) =>
    host.local.get(name) ?? { values: global[name].dataSync() as Float32Array, perUser: false };
  const w = head('out.w');
  const b = head('out.b');
  const hidden = model.layout.hidden;
  const h = hidden[hidden.length - 1];
  const [lo, hi] = model.config.ratingRange;
  const rating = model.config.task === 'rating';
  const ranking = model.rankingScores;
  const heads = (members: number[], columns: boolean) => {
    // The group's heads: [H, G] columns (one matMul) or [G, H] rows (host loop), and a [G] bias.
    const g = members.length;
    const weights = new Float32Array(h * g);
    const bias = new Float32Array(g);
    members.forEach((j, c) => {
      const u = userIndices[j];
      const wAt = w.perUser ? u * h : 0;
      for (let r = 0; r < h; r++) weights[columns ? r * g + c : c * h + r] = w.values[wAt + r];
      bias[c] = b.values[b.perUser ? u : 0];
    });
    return { weights, bias };
  };
  // One decision layer: a user's scores are relu(itemPre0 + userPre0) @ w + b + offset, i.e.
  // N x H multiply-adds per head on the host, reading only the items' pre0 and offset (no
  // tensors, no per-user layer product). A larger group of users sharing the user half (the
  // same features) is one [N, H] x [H, G] matMul below instead: cheaper from a few heads on.
  const onHost = (g: number) => hidden.length === 1 && g <= HOST_MAX_HEADS;
  const tensorGroups: number[][] = [];
  for (const members of groups.values()) {
    if (!onHost(members.length)) {
      tensorGroups.push(members);
      continue;
    }
    const { weights, bias } = heads(members, false);
    const u0 = userIndices[members[0]];
    const at = Int32Array.from(members, (j) => j * n);
    const user = host.userPre0.subarray(u0 * h, (u0 + 1) * h);
    scoreOneLayer(items.hostRows('pre0'), items.hostValues('offset'), user, weights, bias, n, out, at);
    for (const j of members) {
      const scores = out.subarray(j * n, (j + 1) * n);
      if (rating) for (let i = 0; i < n; i++) scores[i] = Math.min(hi, Math.max(lo, scores[i]));
      else if (!ranking) for (let i = 0; i < n; i++) scores[i] = 1 / (1 + Math.exp(-scores[i]));
    }
  }
  for (const members of tensorGroups) {
    const g = members.length;
    const { weights: wCols, bias } = heads(members, true);
    const u0 = userIndices[members[0]];
    const pred = tf.tidy(() => {
      // Only the items' pre0 and offset are read (a selected set gathers nothing else).
      const features = sharedTrunkFeatures(
        model.layout,
        global,
        items.pre0!,
        tf.slice(userPre0, [u0, 0, 0], [1, 1, -1]),
      );
      // headOutput's features @ out.w + out.b + offset for the G heads at once: one plain
      // [N, H] x [H, G] matMul (a broadcast batched matMul is several times slower on wasm).
      const z = tf.matMul(tf.reshape(features, [n, h]), tf.tensor2d(wCols, [h, g]));
      const raw = tf.add(tf.add(z, tf.reshape(items.offset!, [n, 1])), tf.tensor1d(bias));
      return rating ? tf.clipByValue(raw, lo, hi) : ranking ? raw : tf.sigmoid(raw);
    });
    const values = pred.dataSync() as Float32Array; // [N, G]
    pred.dispose();
    members.forEach((j, c) => {
      const row = j * n;
      for (let i = 0; i < n; i++) out[row + i] = values[i * g + c];
    });
  }
  if (model.neighbourhood || model.contentNeighbourhood) {
    userIndices.forEach((u, j) => {
      addNeighbourScores(neighbourScores(model, adapted.supportItems?.[u]), items, out, j * n);
      addContentScores(model, adapted.contentProfiles?.[u], items, out, j * n);
    });
  }
  return out;
}

/** Heads of one group (users with the same first-layer user half) scored on the host with one decision layer. */
const HOST_MAX_HEADS = 2;

/**
 * relu(pre0[i] + user) . weights[c] + bias[c] + offset[i] for every item i of a one-layer shared
 * trunk and every head c of a group sharing the user half, written (raw) to out[at[c] + i].
 * The items' pre0 rows are read where they are (a selected set's sources: nothing is gathered).
 */
function scoreOneLayer(
  pre0: ItemRows,
  offset: Float32Array,
  user: Float32Array,
  weights: Float32Array,
  bias: Float32Array,
  n: number,
  out: Float32Array,
  at: Int32Array,
): void {
  const h = user.length;
  const g = bias.length;
  const { values, src, row } = pre0;
  let from = values[0] as Float32Array;
  for (let i = 0; i < n; i++) {
    if (src) from = values[src[i] as number] as Float32Array;
    const r = (row ? (row[i] as number) : i) * h;
    for (let c = 0; c < g; c++) {
      const s = reluDot(from, r, user, weights, c * h, h);
      out[(at[c] as number) + i] = s + (bias[c] as number) + (offset[i] as number);
    }
  }
}

/**
 * sum_k relu(a[at + k] + u[k]) * w[wAt + k]. relu(v) = (v + |v|) / 2 (exact, branch-free: the
 * sign of v is unpredictable) and four partial sums (the add latency chain, not the multiplies,
 * bounds a single-sum loop): ~3x faster than the obvious loop.
 */
function reluDot(
  a: Float32Array,
  at: number,
  u: Float32Array,
  w: Float32Array,
  wAt: number,
  h: number,
): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < h; k += 4) {
    const v0 = (a[at + k] as number) + (u[k] as number);
    const v1 = (a[at + k + 1] as number) + (u[k + 1] as number);
    const v2 = (a[at + k + 2] as number) + (u[k + 2] as number);
    const v3 = (a[at + k + 3] as number) + (u[k + 3] as number);
    s0 += (v0 + Math.abs(v0)) * (w[wAt + k] as number);
    s1 += (v1 + Math.abs(v1)) * (w[wAt + k + 1] as number);
    s2 += (v2 + Math.abs(v2)) * (w[wAt + k + 2] as number);
    s3 += (v3 + Math.abs(v3)) * (w[wAt + k + 3] as number);
  }
  for (; k < h; k++) {
    const v = (a[at + k] as number) + (u[k] as number);
    s0 += (v + Math.abs(v)) * (w[wAt + k] as number);
  }
  return 0.5 * (s0 + s1 + s2 + s3);
}

/**
 * Host copies of an adapted batch's small scoring inputs, read once per batch (its tensors never
 * change): a grouping key per user (its first-layer user half) and the local head parameters.
 * Serving scores one batch once per distinct candidate set, so they are reused.
 */
const hostCache = new WeakMap<
  AdaptedUsers,
  {
    userKeys: string[];
    /** First-layer user halves [B * h0]. */
    userPre0: Float32Array;
    local: Map<string, { values: Float32Array; perUser: true }>;
  }
>();

function hostParts(adapted: AdaptedUsers, userPre0: tf.Tensor3D) {
  let parts = hostCache.get(adapted);
  if (!parts) {
    const h0 = userPre0.shape[2];
    const values = (userPre0.dataSync() as Float32Array).slice();
    const rows = new Uint32Array(values.buffer);
    const userKeys = Array.from({ length: adapted.size }, (_, u) =>
      rows.subarray(u * h0, (u + 1) * h0).join(','),
    );
    const local = new Map<string, { values: Float32Array; perUser: true }>();
    for (const [name, t] of Object.entries(adapted.local))
      local.set(name, { values: t.dataSync() as Float32Array, perUser: true });
    parts = { userKeys, userPre0: values, local };
    hostCache.set(adapted, parts);
  }
  return parts;
}

/**
 * One adapted user's scoring inputs on the host, for scorers outside scoreBatch (two-stage
 * ranking, retrieval/shortlist.ts): its first-layer user half [h0] and its output head (out.w
 * [H], out.b). Null unless the first layer is shared (the user half exists).
 */
export function userScoringParts(
  adapted: AdaptedUsers,
  userIndex: number,
): { userPre0: Float32Array; w: Float32Array; b: number } | null {
  if (adapted.isDisposed) throw new ValidationError('adapted', 'has been disposed');
  if (!(Number.isInteger(userIndex) && userIndex >= 0 && userIndex < adapted.size))
    throw new ValidationError('userIndex', `must be an integer in [0, ${adapted.size})`);
  const userPre0 = adapted.userPre0;
  if (!userPre0) return null;
  const host = hostParts(adapted, userPre0);
  const h0 = userPre0.shape[2];
  const global = adapted.model.globals();
  const part = (name: string, width: number) => {
    const local = host.local.get(name);
    if (local) return local.values.subarray(userIndex * width, (userIndex + 1) * width);
    return (global[name].dataSync() as Float32Array).subarray(0, width);
  };
  const hidden = adapted.model.layout.hidden;
  return {
    userPre0: host.userPre0.subarray(userIndex * h0, (userIndex + 1) * h0),
    w: part('out.w', hidden[hidden.length - 1]),
    b: part('out.b', 1)[0],
  };
}

/** A raw prediction as `score` reports it: a clamped rating, a probability, or a ranking logit. */
export function reportedScore(model: RecommenderModel, raw: number): number {
  const [lo, hi] = model.config.ratingRange;
  if (model.config.task === 'rating') return Math.min(hi, Math.max(lo, raw));
  return model.rankingScores ? raw : 1 / (1 + Math.exp(-raw));
}

/** One recommended item. */
export interface Recommendation {
  itemId: string;
  score: number;
}

/** The top `k` items for one adapted user, best first, skipping `exclude` (ties keep candidate order). */
export function recommend(
  adapted: AdaptedUsers,
  userIndex: number,
  items: EncodedItems,
  k: number,
  exclude?: ReadonlySet<string>,
): Recommendation[] {
  if (!(Number.isInteger(k) && k >= 0)) throw new ValidationError('k', 'must be an integer >= 0');
  const scores = score(adapted, userIndex, items);
  const order: number[] = [];
  for (let i = 0; i < scores.length; i++) if (!exclude?.has(items.ids[i])) order.push(i);
  order.sort((a, b) => scores[b] - scores[a] || a - b);
  return order.slice(0, k).map((i) => ({ itemId: items.ids[i], score: scores[i] }));
}
