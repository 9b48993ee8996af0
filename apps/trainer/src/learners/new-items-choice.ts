import {
  datasetHasTimes,
  type FitContext,
  type ItemCatalog,
  orderedByItem,
  type RatingEvent,
  rngFor,
  shuffled,
  type Task,
  throwIfAborted,
  validationRankingScore,
} from '@warmstart/evaluation';

/** How items added after training take their first interactions (`train.newItems`). */
export type NewItemsWay = 'warm-up' | 'fold-in';

/** Share of the warm items the validation users touched that play the new items. */
export const PSEUDO_NEW_FRACTION = 0.25;
/** At most this many pseudo-new items (they are also the ranking's candidates). */
export const PSEUDO_NEW_MAX = 2000;
/** Interactions per pseudo-new item the ways see (P2's new-item k-shot curve, small to large). */
export const NEW_ITEMS_SHOTS: readonly number[] = [1, 3, 10];
/** Fewer scored tasks than this over all shots: no choice (the configured fallback stays). */
export const MIN_CHOICE_TASKS = 20;

export const HIDDEN_PREFIX = 'new-items-choice:';

/**
 * `count` of `pool`: the latest by first interaction over the training and validation
 * interactions when those have times (ties by id), else a seeded random sample.
 */
export function pickPseudoNew(
  pool: readonly string[],
  count: number,
  ctx: Pick<FitContext, 'train' | 'validation' | 'seed'>,
): string[] {
  const first = new Map<string, number>();
  const times = new Set<number>();
  for (const t of [...ctx.train, ...ctx.validation])
    for (const r of [...t.support, ...t.query]) {
      const at = r.time?.getTime();
      if (at === undefined) continue;
      times.add(at);
      if (!(first.get(r.itemId)! <= at)) first.set(r.itemId, at);
    }
  if (times.size <= 1) return shuffled(pool, rngFor(ctx.seed, 'new-items-choice')).slice(0, count);
  const when = (id: string) => first.get(id) ?? -Infinity;
  return [...pool].sort((a, b) => when(b) - when(a) || (a < b ? -1 : 1)).slice(0, count);
}

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
  ctx: Pick<FitContext, 'train' | 'validation' | 'items' | 'seed' | 'kind' | 'scale' | 'signal'>,
): Promise<NewItemsChoice | null> {
  const touched = new Set<string>();
  for (const t of ctx.validation)
    for (const r of [...t.support, ...t.query]) if (trial.isWarm(r.itemId)) touched.add(r.itemId);
  const pool = [...touched].sort();
  const count = Math.min(PSEUDO_NEW_MAX, Math.round(pool.length * PSEUDO_NEW_FRACTION));
  const pseudo = new Set(pickPseudoNew(pool, count, ctx));
  if (pseudo.size === 0) return null;

  const hide = (id: string) => HIDDEN_PREFIX + id;
  const items = new Map(ctx.items);
  for (const id of pseudo) items.set(hide(id), { ...(ctx.items.get(id) ?? { features: {} }), id: hide(id) });
  const candidates = [...pseudo].sort().map(hide);

  // Each validation user's interactions with the pseudo-new items (hidden), and the rest: its history.
  const byUser = new Map<string, RatingEvent[]>();
  const histories: Task[] = [];
  for (const t of ctx.validation) {
    const all = [...t.support, ...t.query];
    const events = all
      .filter((r) => pseudo.has(r.itemId))
      .map((r) => ({
        userId: t.user.id,
        itemId: hide(r.itemId),
        value: r.value,
        time: r.time ?? new Date(0),
      }));
    if (events.length) byUser.set(t.user.id, events);
    histories.push({ user: t.user, support: all.filter((r) => !pseudo.has(r.itemId)), query: [] });
  }
  const ordered = orderedByItem(byUser, datasetHasTimes({ ratings: [...byUser.values()].flat() }), ctx.seed);
  const users = new Map(ctx.validation.map((t) => [t.user.id, t.user]));

  const sums: Record<NewItemsWay, number> = { 'warm-up': 0, 'fold-in': 0 };
  let tasks = 0;
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
      const ranker = {
        rank: (ts: readonly Task[], cs: readonly string[]) => trial.rank(ts, cs, items, rows),
      };
      const score = await validationRankingScore(
        ranker,
        { train: [], validation: view, items, kind: ctx.kind, scale: ctx.scale, signal: ctx.signal },
        candidates,
      );
      sums[way] += Number.isNaN(score) ? 0 : score;
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
    items: pseudo.size,
    tasks,
  };
}
