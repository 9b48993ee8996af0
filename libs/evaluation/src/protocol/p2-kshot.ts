/**
 * P2's k-shot views (docs/protocols.md, "P2", k-shot).
 *
 * New users: each new-user task with its support cut to the user's first k interactions, query
 * unchanged. Each k is measured on the users who have at least k support interactions, so sparse
 * data (most users with a handful of interactions) still gets its small-k points; `tasks` per point
 * says how many users that was.
 *
 * New items: only each new item's first k interactions (in the item's order, pooled over the
 * new-item scenario's users) are available to the model, as `itemEvidence`. A user's task then has
 * as support its interactions among that evidence and as query its other new-item interactions
 * (capped at `maxQuery`); it needs `minSupport` support interactions and one query interaction.
 */
import type { RatingEvent, Task } from '../data/types';
import { toRating, type P2Split } from './p2';
import { orderedByItem } from './p2-order';

export interface KShotView {
  k: number;
  tasks: Task[];
  /** Interactions the model may learn item-side facts from (new items only; never a query). */
  itemEvidence: RatingEvent[];
}

export function newUserKShot(tasks: readonly Task[], ks: readonly number[]): KShotView[] {
  return ks.map((k) => ({
    k,
    tasks: tasks.filter((t) => t.support.length >= k).map((t) => ({ ...t, support: t.support.slice(0, k) })),
    itemEvidence: [],
  }));
}

export function newItemKShot(split: P2Split, ks: readonly number[]): KShotView[] {
  const byUser = split.events.new_item;
  const byItem = orderedByItem(byUser, split.hasTimes, split.seed);
  const rules = split.options;
  return ks.map((k) => {
    const evidence = new Set<RatingEvent>();
    for (const list of byItem.values()) for (const r of list.slice(0, k)) evidence.add(r);
    const tasks: Task[] = [];
    for (const [userId, list] of byUser) {
      const support = list.filter((r) => evidence.has(r));
      const query = list.filter((r) => !evidence.has(r));
      if (support.length < rules.minSupport || query.length === 0) continue;
      const user = split.users.get(userId) ?? { id: userId, features: {} };
      tasks.push({
        user,
        support: support.map(toRating),
        query: query.slice(0, rules.maxQuery).map(toRating),
      });
    }
    return { k, tasks, itemEvidence: [...evidence] };
  });
}
