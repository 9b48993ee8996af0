/**
 * The catalog sample of the catalog fold-in (model/catalog-fold-in.ts): items drawn uniformly
 * without replacement from the model's negative pool (its training catalog), encoded as a rated
 * set whose every row is an observation of 0. Uniform, not by the pool's sampling weights: the
 * fold-in's Gram matrix is a mean over the catalog.
 */
import * as tf from '@tensorflow/tfjs-core';
import { buildRatedSet, disposeRatedSet, type RatedSet } from '../model/batch';
import { catalogGramSum, SHARED_GRAM_CHUNK } from '../model/catalog-fold-in';
import { inputsFor } from '../model/inner';
import { trunk, withContent, type NetInputs } from '../model/network';
import type { Params } from '../model/params';
import { trunkIgnoresUser } from '../model/layout';
import type { RecommenderModel } from '../model/model';
import { Rng } from '../rng';
import type { ItemCatalog } from '../types';
import type { NegativePool } from './pool';

/** `count` distinct ids of `pool`, uniformly (all of them, in pool order, when it is smaller). */
export function uniformCatalogSample(pool: NegativePool, count: number, rng: Rng): string[] {
  const ids = pool.ids;
  if (ids.length <= count) return [...ids];
  // Partial Fisher-Yates over the indices: the first `count` positions are the sample.
  const index = Int32Array.from({ length: ids.length }, (_, i) => i);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(ids.length - i);
    [index[i], index[j]] = [index[j], index[i]];
  }
  return Array.from(index.subarray(0, count), (i) => ids[i]);
}

/**
 * The catalog sample as a rated set: one row of the sample when the trunk does not depend on the
 * user (every user shares it), else one copy per user (`userIdRows`: the users' rows of id.user,
 * for models with user IDs).
 */
export function catalogSet(
  model: RecommenderModel,
  ids: readonly string[],
  users: number,
  items: ItemCatalog,
  userIdRows?: Int32Array,
): RatedSet {
  const pool = model.negativePool;
  if (!pool) throw new Error('the catalog fold-in needs the model negative pool');
  const list = ids.map((itemId) => ({ itemId, value: 0 }));
  const copies = trunkIgnoresUser(model.layout) ? 1 : users;
  return buildRatedSet(
    model,
    Array.from({ length: copies }, () => list),
    items,
    {
      path: 'catalog',
      list: 'items',
      poolRows: pool.rowOf,
      ...(userIdRows && { userIdRows }),
    },
  );
}

/** A seeded sample of `count` catalog items ({@link uniformCatalogSample} with a fresh Rng). */
export function seededCatalogSample(pool: NegativePool, count: number, seed: number): string[] {
  return uniformCatalogSample(pool, count, new Rng(seed));
}

/**
 * Network inputs of the catalog set for B users' `userX` [B,1,du]: a one-row set (shared by every
 * user) takes the first user's row, which every user's equals when the trunk ignores the user.
 */
export function catalogInputs(
  model: RecommenderModel,
  global: Params,
  userX: tf.Tensor3D,
  set: RatedSet,
): NetInputs {
  const shared = set.itemX.shape[0] === 1 && userX.shape[0] > 1;
  return inputsFor(model.layout, global, shared ? tf.slice(userX, [0, 0, 0], [1, -1, -1]) : userX, set);
}

const SHARED_GRAM = 'catalogFoldIn.gram';

/**
 * The catalog's Gram matrix [1, H+1, H+1] for a model whose trunk ignores the user (every user
 * shares it), computed once per model version from the fixed catalog sample `ids` and kept in
 * `model.derived`: adaptation then costs one small solve per user instead of a trunk pass over
 * the catalog per call. The trunk runs over SHARED_GRAM_CHUNK rows at a time and the chunks' sums
 * add up, so memory stays bounded however large the sample.
 */
export function sharedCatalogGram(
  model: RecommenderModel,
  ids: readonly string[],
  items: ItemCatalog,
): tf.Tensor3D {
  const hit = model.derived.get(SHARED_GRAM);
  if (hit && hit.version === model.version) return hit.tensor as tf.Tensor3D;
  const l = model.layout;
  const userX = model.encodeUsers([{ features: {} }]);
  let sum: tf.Tensor3D | null = null;
  try {
    for (let at = 0; at < ids.length; at += SHARED_GRAM_CHUNK) {
      const set = catalogSet(model, ids.slice(at, at + SHARED_GRAM_CHUNK), 1, items);
      try {
        const next: tf.Tensor3D = tf.tidy(() => {
          const g = model.globals();
          const inp = withContent(l, g, inputsFor(l, g, userX, set), model.globalMean);
          const part = catalogGramSum(trunk(l, g, inp, model.globalMean).features);
          return sum ? tf.add(sum, part) : part;
        });
        sum?.dispose();
        sum = next;
      } finally {
        disposeRatedSet(set);
      }
    }
    const total = sum!;
    const gram = tf.tidy(() => tf.div(total, ids.length) as tf.Tensor3D);
    hit?.tensor.dispose();
    model.derived.set(SHARED_GRAM, { version: model.version, tensor: gram });
    return gram;
  } finally {
    sum?.dispose();
    userX.dispose();
  }
}
