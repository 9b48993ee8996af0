import {
  foldInItems,
  supportsItemFoldIn,
  userBaseOf,
  userHeadsOf,
  type RecommenderModel,
  type UserBase,
  type UserHeads,
} from '@warmstart/core';
import type { ItemCatalog, RatingEvent, Task } from '@warmstart/evaluation';

/** The training users' heads, adapted on their own training interactions, and their user base. */
export interface TrainingHeads {
  heads: UserHeads;
  base: UserBase;
}

/**
 * The heads of the training users of a catalog fold-in model (core supportsItemFoldIn), each
 * adapted on every training interaction it has (support and query: all of them are its history
 * once training is over; core userHeadsOf), and the user base they form. What core's item fold-in
 * reads the evidence users' heads and the user base from, as ALS's item step reads its user factors.
 */
export function trainingHeads(
  model: RecommenderModel,
  train: readonly Task[],
  items: ItemCatalog,
): TrainingHeads {
  const heads = userHeadsOf(
    model,
    train.map((t) => ({ user: t.user, support: [...t.support, ...t.query] })),
    items,
  );
  return { heads, base: userBaseOf(heads) };
}

/**
 * ID rows of the items `model` has no ID row for, folded in (core foldInItems) from the
 * interactions (value > 0) of `evidence` by training users, or undefined when there is nothing to
 * fold in. Evidence by users outside training is skipped, as the ALS baseline skips it.
 */
export function foldInRowsFromEvidence(
  model: RecommenderModel,
  evidence: readonly RatingEvent[],
  items: ItemCatalog,
  training: TrainingHeads,
): Map<string, Float32Array> | undefined {
  if (!supportsItemFoldIn(model)) return undefined;
  const byItem = new Map<string, string[]>();
  for (const r of evidence) {
    if (r.value <= 0 || model.itemIdIndex.has(r.itemId)) continue;
    let list = byItem.get(r.itemId);
    if (!list) byItem.set(r.itemId, (list = []));
    list.push(r.userId);
  }
  if (byItem.size === 0) return undefined;
  const requests = [...byItem.keys()]
    .sort()
    .map((id) => ({ item: items.get(id) ?? { id, features: {} }, users: byItem.get(id)! }));
  return foldInItems(model, requests, training.heads, training.base);
}
