import {
  datasetHasTimes,
  type FitContext,
  orderedByItem,
  relevanceThreshold,
  throwIfAborted,
} from '@warmstart/evaluation';
import {
  MIN_CHOICE_TASKS,
  NEW_ITEMS_SHOTS,
  trialScore,
  type NewItemsTrial,
  type NewItemsWay,
} from './new-items-choice';
import { pseudoNewItems, pseudoNewRatings, splitAtPseudoNew } from './pseudo-new';

/** What {@link chooseRankerEvidence} found. */
export interface RankerEvidenceChoice {
  /** The lowest liked rating (the data's relevance threshold), tried as the ranker's minimum. */
  min: number;
  /**
   * Validation NDCG@20 on pseudo-new items, mean over the shots: every rating a positive, and the
   * liked ratings positive with the others negative.
   */
  scores: { all: number; liked: number };
  /** Whether the second ranked strictly better (then the minimum is set). */
  kept: boolean;
  /** Pseudo-new items and validation tasks scored. */
  items: number;
  tasks: number;
}

/**
 * For a rating model with a ranker: whether the ranker takes new items' first ratings all as
 * positive interactions, or the liked ones (at or above the data's relevance threshold) as
 * positives and the others as negatives (core rankerEvidence), chosen on the warm validation users. A quarter of the warm items those users
 * touched play new items (pickPseudoNew, IDs hidden); as P2's new-item k-shot curve gives new items
 * the ratings of training users, each pseudo-new item's evidence is its first k ratings by the
 * training users (by time, else a seeded order), k in {1, 3, 10}; each validation user, adapted
 * on its interactions with the other items, ranks the pseudo-new items, its own liked ones the
 * targets. `trialFor(min)` takes the evidence in by `way` with that minimum (null: every rating
 * positive). The minimum must score strictly higher to be kept. Null for implicit data or when fewer
 * than 20 tasks can be scored.
 */
export async function chooseRankerEvidence(
  way: NewItemsWay,
  trialFor: (min: number | null) => NewItemsTrial,
  ctx: Pick<FitContext, 'train' | 'validation' | 'items' | 'seed' | 'kind' | 'scale' | 'signal'>,
): Promise<RankerEvidenceChoice | null> {
  if (ctx.kind !== 'explicit') return null;
  const liked = relevanceThreshold(ctx.kind, ctx.scale);
  const trials = { all: trialFor(null), liked: trialFor(liked) };
  const pseudo = pseudoNewItems(trials.all.isWarm, ctx);
  const { items, candidates } = pseudo;
  // Validation users: their other items the support, their pseudo-new items (hidden) the query.
  const tasks = splitAtPseudoNew(ctx.validation, pseudo);
  if (tasks.length < MIN_CHOICE_TASKS) return null;
  // Training users: their pseudo-new ratings the evidence, their other items their histories
  // (only the evidence users': a fold-in reads no one else's).
  const { byUser, histories: all } = pseudoNewRatings(ctx.train, pseudo);
  const histories = all.filter((h) => byUser.has(h.user.id));
  const ordered = orderedByItem(byUser, datasetHasTimes({ ratings: [...byUser.values()].flat() }), ctx.seed);

  const sums = { all: 0, liked: 0 };
  for (const k of NEW_ITEMS_SHOTS) {
    throwIfAborted(ctx.signal);
    const evidence = [...ordered.values()].flatMap((list) => list.slice(0, k));
    for (const key of ['all', 'liked'] as const) {
      const rows = trials[key].rows(way, evidence, items, histories);
      sums[key] += await trialScore(trials[key], rows, tasks, items, candidates, ctx);
    }
  }
  const scores = { all: sums.all / NEW_ITEMS_SHOTS.length, liked: sums.liked / NEW_ITEMS_SHOTS.length };
  return { min: liked, scores, kept: scores.liked > scores.all, items: pseudo.ids.size, tasks: tasks.length };
}
