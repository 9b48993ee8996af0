import type { Rating, RatingEvent, Task, UserRecord } from '../data/types';
import { rngFor, shuffled } from '../util/rng';

export interface TaskRules {
  /** Tasks with fewer ratings are dropped (P1: 13). */
  minRatings: number;
  /** Tasks with more ratings keep a seeded random subset of this size (P1: 100). */
  maxRatings: number;
  /** Seeded random ratings that form the query set (P1: 10); the rest is the support set. */
  querySize: number;
}

export const P1_TASK_RULES: TaskRules = { minRatings: 13, maxRatings: 100, querySize: 10 };

/**
 * Builds one task from one user's ratings inside one scenario, or null when it has too few.
 * The random stream is keyed by (seed, scenario, user), so a task does not depend on which other
 * users are present or in what order they come.
 */
export function buildTask(
  user: UserRecord,
  ratings: readonly RatingEvent[],
  scenario: string,
  seed: number,
  rules: TaskRules = P1_TASK_RULES,
): Task | null {
  if (ratings.length < rules.minRatings) return null;
  // A canonical order first, so the input order cannot change the seeded choice.
  const canonical = ratings
    .slice()
    .sort((a, b) => a.time.getTime() - b.time.getTime() || (a.itemId < b.itemId ? -1 : 1));
  const picked = shuffled(canonical, rngFor(seed, `task:${scenario}:${user.id}`)).slice(0, rules.maxRatings);
  const toRating = (r: RatingEvent): Rating => ({ itemId: r.itemId, value: r.value, time: r.time });
  return {
    user,
    query: picked.slice(0, rules.querySize).map(toRating),
    support: picked.slice(rules.querySize).map(toRating),
  };
}
