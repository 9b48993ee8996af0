import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from './errors';
import { buildRatedSet, disposeRatedSet } from './model/batch';
import { innerLoop, inputsFor } from './model/inner';
import type { EncodedItems, RecommenderModel } from './model/model';
import { forward, userFirstLayer } from './model/network';
import type { Params } from './model/params';
import type { ItemCatalog, Rating, UserRecord } from './types';

/** One user to adapt: raw features and the support ratings (items resolved through the catalog). */
export interface AdaptRequest {
  user: UserRecord;
  support: Rating[];
}

/** Overrides of the model's adaptation defaults. */
export interface AdaptOptions {
  /** Inner gradient steps (default: the model's training setting). */
  steps?: number;
  /** Inner learning rate (default: the model's; Meta-SGD models use their learned rates unless set). */
  lr?: number;
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
  ) {}

  get size(): number {
    return this.userIds.length;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    tf.dispose([...Object.values(this.local), this.userX, ...(this.userPre0 ? [this.userPre0] : [])]);
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
  requests.forEach((r, i) => {
    if (!r?.user || typeof r.user.id !== 'string')
      throw new ValidationError(`requests[${i}].user.id`, 'is required');
  });
  const support = buildRatedSet(
    model,
    requests.map((r) => r.support),
    items,
    { path: 'requests', list: 'support', rowsByRecord: model.supportRows },
  );
  try {
    const userX = model.encodeUsers(requests.map((r) => r.user));
    const lr = options.lr ?? (model.innerLrs ? model.innerLrs : model.adaptDefaults.lr);
    const local = tf.tidy(() => {
      const global = model.globals();
      const inputs = inputsFor(model.layout, global, userX, support);
      return innerLoop(model.layout, global, model.localNames(), inputs, support, model.globalMean, {
        steps,
        lr,
        releaseSteps: true,
      });
    });
    const userPre0 = model.firstLayerIsGlobal
      ? tf.tidy(() => userFirstLayer(model.layout, model.globals(), userX))
      : null;
    return new AdaptedUsers(
      model,
      requests.map((r) => r.user.id),
      local,
      userX,
      userPre0,
    );
  } finally {
    disposeRatedSet(support);
  }
}

/** Predictions for one adapted user on encoded items: ratings clamped to the range, or probabilities. */
export function score(adapted: AdaptedUsers, userIndex: number, items: EncodedItems): Float32Array {
  const model = adapted.model;
  if (adapted.isDisposed) throw new ValidationError('adapted', 'has been disposed');
  if (!(Number.isInteger(userIndex) && userIndex >= 0 && userIndex < adapted.size)) {
    throw new ValidationError('userIndex', `must be an integer in [0, ${adapted.size})`);
  }
  if (items.model !== model || items.modelVersion !== model.version) {
    throw new ValidationError(
      'items',
      'were encoded for another model or version; call model.encodeItems again',
    );
  }
  if (items.size === 0) return new Float32Array(0);
  const out = tf.tidy(() => {
    const p: Params = model.globals();
    for (const [name, t] of Object.entries(adapted.local)) {
      p[name] = tf.slice(t, [userIndex, ...t.shape.slice(1).map(() => 0)], [1, ...t.shape.slice(1)]);
    }
    const pred = forward(
      model.layout,
      p,
      {
        userX: tf.slice(adapted.userX, [userIndex, 0, 0], [1, 1, -1]),
        itemX: tf.expandDims(items.x, 0) as tf.Tensor3D,
        itemContent: items.content ? (tf.expandDims(items.content, 0) as tf.Tensor3D) : undefined,
        itemId: items.idRepr ? (tf.expandDims(items.idRepr, 0) as tf.Tensor3D) : undefined,
        itemHidden: items.hidden ?? undefined,
        offset: items.offset ?? undefined,
        itemPre0: items.pre0 ?? undefined,
        userPre0: adapted.userPre0 ? tf.slice(adapted.userPre0, [userIndex, 0, 0], [1, 1, -1]) : undefined,
      },
      model.globalMean,
    );
    const [lo, hi] = model.config.ratingRange;
    return model.config.task === 'rating' ? tf.clipByValue(pred, lo, hi) : tf.sigmoid(pred);
  });
  const values = out.dataSync() as Float32Array;
  out.dispose();
  return values;
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
