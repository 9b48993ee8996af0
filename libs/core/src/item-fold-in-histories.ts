/**
 * New items folded in where only the interacting users' histories are at hand (a server, a later
 * job): the users are adapted on their histories to get their heads, and the items are folded in
 * against the user base the model carries (`model.foldInBase`, computed from the training users
 * when the model was trained and stored in its artifact). See item-fold-in.ts for the fold-in.
 */
import { adapt, type AdaptRequest } from './adapt';
import { ValidationError } from './errors';
import { foldInItems, supportsItemFoldIn, userHeads, type UserBase, type UserHeads } from './item-fold-in';
import type { RecommenderModel } from './model/model';
import type { ItemCatalog, ItemRecord, Rating, UserRecord } from './types';

/** Users adapted per batched `adapt` call while their heads are computed. */
const HEADS_BATCH = 128;

/**
 * The head deltas (core userHeads) of `users`, each adapted on its `support` as interactions
 * (every positive value read as 1, the rest dropped: the head of who interacted with what), in
 * batches, with a constant lift (no evidence growth). Users with no positive interaction are left
 * out.
 */
export function userHeadsOf(
  model: RecommenderModel,
  users: readonly AdaptRequest[],
  items: ItemCatalog,
): UserHeads {
  const width = model.layout.hidden[model.layout.hidden.length - 1] + 1;
  const ids: string[] = [];
  const parts: Float32Array[] = [];
  const requests = users
    .map((r) => ({
      user: r.user,
      support: r.support.filter((x) => x.value > 0).map((x) => ({ ...x, value: 1 })),
    }))
    .filter((r) => r.support.length > 0);
  for (let at = 0; at < requests.length; at += HEADS_BATCH) {
    // Without the evidence growth: it reweighs a user's own evidence against the item biases when
    // their items are ranked, but would scale long histories' heads up by (1 + g n) here and let
    // the heaviest users dominate where an item is placed among its users.
    const adapted = adapt(model, requests.slice(at, at + HEADS_BATCH), items, { evidenceGrowth: 0 });
    try {
      const h = userHeads(adapted);
      ids.push(...h.ids);
      parts.push(h.q);
    } finally {
      adapted.dispose();
    }
  }
  const q = new Float32Array(ids.length * width);
  let offset = 0;
  for (const p of parts) {
    q.set(p, offset);
    offset += p.length;
  }
  return { ids, q, width };
}

/** A new item and the users who interacted with it, each with its history of interactions. */
export interface ItemFoldInFromHistories {
  item: ItemRecord;
  users: readonly { user: UserRecord; history: readonly Rating[] }[];
}

/**
 * ID rows for new items folded in (core foldInItems) from the users who interacted with them,
 * each user's head adapted on its `history` (items resolved in `items`), against the model's
 * `foldInBase`. A user named by several items is adapted once (its first history is used); a
 * user with no positive interaction in its history does not count as evidence.
 */
export function foldInItemsFromHistories(
  model: RecommenderModel,
  requests: readonly ItemFoldInFromHistories[],
  items: ItemCatalog,
): Map<string, Float32Array> {
  const base = model.foldInBase;
  if (!base || !supportsItemFoldIn(model))
    throw new ValidationError(
      'model',
      'folds items in only with a user base (model.foldInBase) and item fold-in support',
    );
  if (!Array.isArray(requests)) throw new ValidationError('requests', 'must be an array');
  if (requests.length === 0) return new Map();
  const histories = new Map<string, AdaptRequest>();
  requests.forEach((r, i) => {
    if (!Array.isArray(r?.users)) throw new ValidationError(`requests[${i}].users`, 'must be an array');
    for (const u of r.users)
      if (!histories.has(u.user.id)) histories.set(u.user.id, { user: u.user, support: [...u.history] });
  });
  const heads = userHeadsOf(model, [...histories.values()], items);
  return foldInItems(
    model,
    requests.map((r) => ({ item: r.item, users: r.users.map((u: { user: UserRecord }) => u.user.id) })),
    heads,
    base,
  );
}

/** A {@link UserBase} as JSON (artifacts' fold-in-base.json). */
export interface UserBaseJSON {
  width: number;
  users: number;
  moments: number[];
  mean: number[];
}

export function userBaseToJSON(base: UserBase): UserBaseJSON {
  return { width: base.width, users: base.users, moments: [...base.moments], mean: [...base.mean] };
}

/** Parses and checks a {@link UserBaseJSON} for a model whose heads are `width` wide; errors name the field. */
export function userBaseFromJSON(json: unknown, width: number): UserBase {
  const j = json as Partial<UserBaseJSON> | null;
  if (typeof j !== 'object' || j === null) throw new ValidationError('base', 'must be an object');
  if (j.width !== width) throw new ValidationError('base.width', `must be ${width} (the model's H + 1)`);
  if (!(typeof j.users === 'number' && Number.isFinite(j.users) && j.users >= 1))
    throw new ValidationError('base.users', 'must be a number >= 1');
  const floats = (field: 'moments' | 'mean', length: number) => {
    const v = j[field];
    if (
      !Array.isArray(v) ||
      v.length !== length ||
      !v.every((x) => typeof x === 'number' && Number.isFinite(x))
    )
      throw new ValidationError(`base.${field}`, `must be ${length} finite numbers`);
    return Float32Array.from(v);
  };
  return { width, users: j.users, moments: floats('moments', width * width), mean: floats('mean', width) };
}
