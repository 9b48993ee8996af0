import {
  datasetHasTimes,
  type FitContext,
  type ItemCatalog,
  orderedByItem,
  type RatingEvent,
  type Task,
  throwIfAborted,
  validationRankingScore,
} from '@warmstart/evaluation';
import { pseudoNewItems, pseudoNewRatings } from './pseudo-new';
import { stageProgress } from './stage-progress';

/** How items added after training take their first interactions (`train.newItems`). */
export type NewItemsWay = 'warm-up' | 'fold-in';

/** Interactions per pseudo-new item the ways see (P2's new-item k-shot curve, small to large). */
export const NEW_ITEMS_SHOTS: readonly number[] = [1, 3, 10];
/** Fewer scored tasks than this over all shots: no choice (the configured fallback stays). */
export const MIN_CHOICE_TASKS = 20;

/** What the choice needs from a learner, for each way it compares. */
export interface NewItemsTrial {
  /**
   * ID rows for the new items of `evidence` taken in by `way`. `histories` holds the evidence
   * users' other interactions (the warm items they have besides the new ones), from which a way
   * may read where those users stand.
   */
  rows(
    way: NewItemsWay,
    evidence: readonly RatingEvent[],
    items: ItemCatalog,
    histories: readonly Task[],
  ): Map<string, Float32Array> | undefined;
  /** Scores of `candidates` per task, after adapting each task's user, with `rows` for new items. */
  rank(
    tasks: readonly Task[],
    candidates: readonly string[],
    items: ItemCatalog,
    rows: Map<string, Float32Array> | undefined,
  ): Promise<Float32Array[]>;
  /** Whether the model has a learned ID row for the item (only those can play a new item). */
  isWarm(itemId: string): boolean;
}

export interface NewItemsChoice {
  way: NewItemsWay;
  /** Mean validation NDCG@20 over {@link NEW_ITEMS_SHOTS} per way. */
  scores: Record<NewItemsWay, number>;
  /** Pseudo-new items and the validation tasks scored over all shots. */
  items: number;
  tasks: number;
}

/**
 * `train.newItems: auto`: the way new items take their first interactions, chosen on the warm
 * validation users, never a cold scenario. A quarter of the warm items those users touched plays
 * the new items, chosen as P2 chooses new items: the latest by first interaction (in the training
 * and validation interactions) where the data has times, a seeded random sample where it has none
 * (newly released items behave unlike a random sample of the catalog: their first interactions
 * come in a burst). Their IDs are hidden (renamed, so the model sees content and a generated
 * ID row, as for a brand-new item), each item's first k of the validation users' interactions with
 * them are the evidence, and each user is scored on ranking its other pseudo-new items among all of
 * them after adapting on its own evidence interactions, as P2's new-item k-shot curve does with
 * new items and training users. The evidence users' warm interactions (every other item) are what
 * a way may read their standing from. Each way's score is the mean NDCG@20 over the shots; the
 * fold-in must beat the warm-up strictly to be chosen. null when too few tasks can be scored.
 */
export async function chooseNewItems(
  trial: NewItemsTrial,
  ctx: Pick<
    FitContext,
    'train' | 'validation' | 'items' | 'seed' | 'kind' | 'scale' | 'signal' | 'onProgress'
  >,
): Promise<NewItemsChoice | null> {
  const pseudo = pseudoNewItems(trial.isWarm, ctx);
  if (pseudo.ids.size === 0) return null;
  const { items, candidates } = pseudo;
  // Each validation user's interactions with the pseudo-new items (hidden), and the rest: its history.
  const { byUser, histories } = pseudoNewRatings(ctx.validation, pseudo);
  const ordered = orderedByItem(byUser, datasetHasTimes({ ratings: [...byUser.values()].flat() }), ctx.seed);
  const users = new Map(ctx.validation.map((t) => [t.user.id, t.user]));

  const sums: Record<NewItemsWay, number> = { 'warm-up': 0, 'fold-in': 0 };
  let tasks = 0;
  const tick = stageProgress(ctx, 'new items', 2 * NEW_ITEMS_SHOTS.length);
  for (const k of NEW_ITEMS_SHOTS) {
    throwIfAborted(ctx.signal);
    const evidence = new Set<RatingEvent>();
    for (const list of ordered.values()) for (const r of list.slice(0, k)) evidence.add(r);
    const view: Task[] = [];
    for (const [userId, list] of byUser) {
      const support = list.filter((r) => evidence.has(r));
      const query = list.filter((r) => !evidence.has(r));
      if (support.length === 0 || query.length === 0) continue;
      const strip = (r: RatingEvent) => ({ itemId: r.itemId, value: r.value, time: r.time });
      view.push({ user: users.get(userId)!, support: support.map(strip), query: query.map(strip) });
    }
    tasks += view.length;
    for (const way of ['warm-up', 'fold-in'] as const) {
      const rows = trial.rows(way, [...evidence], items, histories);
      sums[way] += await trialScore(trial, rows, view, items, candidates, ctx);
      tick();
    }
  }
  if (tasks < MIN_CHOICE_TASKS) return null;
  const scores = {
    'warm-up': sums['warm-up'] / NEW_ITEMS_SHOTS.length,
    'fold-in': sums['fold-in'] / NEW_ITEMS_SHOTS.length,
  };
  return {
    way: scores['fold-in'] > scores['warm-up'] ? 'fold-in' : 'warm-up',
    scores,
    items: pseudo.ids.size,
    tasks,
  };
}

/**
 * Validation NDCG@20 (0 when no task can be scored) of `tasks` ranking `candidates` with a trial's
 * rows for the new items.
 */
export async function trialScore(
  trial: NewItemsTrial,
  rows: Map<string, Float32Array> | undefined,
  tasks: readonly Task[],
  items: ItemCatalog,
  candidates: readonly string[],
  ctx: Pick<FitContext, 'kind' | 'scale' | 'signal'>,
): Promise<number> {
  const ranker = { rank: (ts: readonly Task[], cs: readonly string[]) => trial.rank(ts, cs, items, rows) };
  const score = await validationRankingScore(
    ranker,
    { train: [], validation: tasks, items, kind: ctx.kind, scale: ctx.scale, signal: ctx.signal },
    candidates,
  );
  return Number.isNaN(score) ? 0 : score;
}
