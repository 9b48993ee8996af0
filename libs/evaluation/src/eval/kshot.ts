import type { Task } from '../data/types';

/**
 * The k-shot view of a scenario: the same tasks with the support set cut to its first k ratings.
 * Only tasks with at least max(ks) support ratings take part, so every k is measured on the same
 * users and the curve shows the effect of k alone.
 */
export function kShotTasks(tasks: readonly Task[], ks: readonly number[]): Map<number, Task[]> {
  const maxK = Math.max(...ks);
  const eligible = tasks.filter((t) => t.support.length >= maxK);
  return new Map(ks.map((k) => [k, eligible.map((t) => ({ ...t, support: t.support.slice(0, k) }))]));
}
