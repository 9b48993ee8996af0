/**
 * Orders and cold sets of protocol P2 (docs/protocols.md, "P2"): by time where the data
 * has times, seeded random where it has none.
 */
import type { Dataset, ItemRecord, RatingEvent } from '../data/types';
import { rngFor, shuffled } from '../util/rng';
import { compareIds, newUserIds } from './cold-sets';

/** How a cold set was chosen (report.json `split_basis`). */
export type NewItemBasis =
  'availability' | 'availability-or-first-interaction' | 'first-interaction' | 'random';
export type NewUserBasis = 'first-interaction' | 'random';

/**
 * Whether the interactions carry real event times: the dataset says so, or, when it does not, more
 * than one distinct time occurs (a store without times stamps every interaction alike).
 */
export function datasetHasTimes(dataset: Pick<Dataset, 'hasTimes' | 'ratings'>): boolean {
  if (dataset.hasTimes !== undefined) return dataset.hasTimes;
  const first = dataset.ratings[0]?.time.getTime();
  return dataset.ratings.some((r) => r.time.getTime() !== first);
}

/**
 * Each user's interactions, one per item (the first in the user's order), in the user's order:
 * time order (ties by item id) with times; without times a seeded random order per user (keyed by
 * seed and user id, so it does not depend on the other users or the input order).
 */
export function orderedByUser(
  ratings: readonly RatingEvent[],
  hasTimes: boolean,
  seed: number,
): Map<string, RatingEvent[]> {
  const byUser = new Map<string, RatingEvent[]>();
  for (const r of ratings) {
    const list = byUser.get(r.userId);
    if (list) list.push(r);
    else byUser.set(r.userId, [r]);
  }
  const out = new Map<string, RatingEvent[]>();
  for (const userId of [...byUser.keys()].sort(compareIds)) {
    // A canonical order first (stable: equal keys keep input order), so the input order never matters.
    let list = byUser
      .get(userId)!
      .slice()
      .sort((a, b) => (hasTimes ? a.time.getTime() - b.time.getTime() : 0) || compareIds(a.itemId, b.itemId));
    list = dedupeItems(list);
    if (!hasTimes) list = shuffled(list, rngFor(seed, `p2-order:${userId}`));
    out.set(userId, list);
  }
  return out;
}

function dedupeItems(list: readonly RatingEvent[]): RatingEvent[] {
  const seen = new Set<string>();
  return list.filter((r) => !seen.has(r.itemId) && (seen.add(r.itemId), true));
}

/**
 * New users: the last `fraction` of users by first interaction time (P1's rule); without times a
 * seeded random `fraction` of the users with interactions.
 */
export function p2NewUsers(
  byUser: ReadonlyMap<string, readonly RatingEvent[]>,
  hasTimes: boolean,
  fraction: number,
  seed: number,
): { ids: Set<string>; basis: NewUserBasis } {
  if (hasTimes) return { ids: newUserIds([...byUser.values()].flat(), fraction), basis: 'first-interaction' };
  const users = [...byUser.keys()].sort(compareIds);
  const count = Math.round(users.length * fraction);
  return { ids: new Set(shuffled(users, rngFor(seed, 'p2-new-users')).slice(0, count)), basis: 'random' };
}

/**
 * New items, among the items with interactions: the last `fraction` by availability time, an item
 * without one by its first interaction time (ties by id); without times (and without an
 * availability time on every item) a seeded random `fraction`.
 */
export function p2NewItems(
  byUser: ReadonlyMap<string, readonly RatingEvent[]>,
  items: Iterable<ItemRecord>,
  hasTimes: boolean,
  fraction: number,
  seed: number,
): { ids: Set<string>; basis: NewItemBasis } {
  const firstSeen = new Map<string, number>();
  for (const list of byUser.values()) {
    for (const r of list) {
      const t = r.time.getTime();
      const seen = firstSeen.get(r.itemId);
      if (seen === undefined || t < seen) firstSeen.set(r.itemId, t);
    }
  }
  const available = new Map<string, number>();
  for (const item of items) {
    const t = item.availableAt?.getTime();
    if (t !== undefined && Number.isFinite(t) && firstSeen.has(item.id)) available.set(item.id, t);
  }
  // One availability time for every item (a placeholder) orders nothing.
  if (new Set(available.values()).size < 2) available.clear();
  const ids = [...firstSeen.keys()].sort(compareIds);
  const count = Math.round(ids.length * fraction);
  const allAvailable = available.size === ids.length;
  if (!hasTimes && !allAvailable) {
    return { ids: new Set(shuffled(ids, rngFor(seed, 'p2-new-items')).slice(0, count)), basis: 'random' };
  }
  const key = (id: string) => available.get(id) ?? firstSeen.get(id)!;
  const ordered = ids.slice().sort((a, b) => key(a) - key(b) || compareIds(a, b));
  const basis: NewItemBasis = allAvailable
    ? 'availability'
    : available.size > 0
      ? 'availability-or-first-interaction'
      : 'first-interaction';
  return { ids: new Set(ordered.slice(ordered.length - count)), basis };
}

/**
 * Every interaction of each item in the item's own order: by time (ties by user id), without times
 * a seeded random order per item. P2's new-item k-shot curve takes each item's first k from it.
 */
export function orderedByItem(
  byUser: ReadonlyMap<string, readonly RatingEvent[]>,
  hasTimes: boolean,
  seed: number,
): Map<string, RatingEvent[]> {
  const byItem = new Map<string, RatingEvent[]>();
  for (const list of byUser.values()) {
    for (const r of list) {
      const at = byItem.get(r.itemId);
      if (at) at.push(r);
      else byItem.set(r.itemId, [r]);
    }
  }
  const out = new Map<string, RatingEvent[]>();
  for (const itemId of [...byItem.keys()].sort(compareIds)) {
    const list = byItem
      .get(itemId)!
      .sort((a, b) => (hasTimes ? a.time.getTime() - b.time.getTime() : 0) || compareIds(a.userId, b.userId));
    out.set(itemId, hasTimes ? list : shuffled(list, rngFor(seed, `p2-item-order:${itemId}`)));
  }
  return out;
}
