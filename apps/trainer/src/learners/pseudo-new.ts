import {
  type FitContext,
  type ItemRecord,
  type RatingEvent,
  rngFor,
  shuffled,
  type Task,
} from '@warmstart/evaluation';

/**
 * Pseudo-new items: warm items made to play items added after training, so that choices about new
 * items are made on the warm validation users and never on a cold scenario. Their ids are hidden
 * (renamed), so a model scores them through the ID row it generates for a brand-new item.
 */

/** Share of the warm items the validation users touched that play the new items. */
export const PSEUDO_NEW_FRACTION = 0.25;
/** At most this many pseudo-new items (they are also the rankings' candidates). */
export const PSEUDO_NEW_MAX = 2000;
/** What a hidden id starts with. */
export const HIDDEN_PREFIX = 'new-items-choice:';

/**
 * `count` of `pool`: the latest by first interaction over the training and validation
 * interactions when those have times (ties by id), else a seeded random sample (newly released
 * items behave unlike a random sample of the catalog: their first interactions come in a burst).
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

/** The pseudo-new items of a choice. */
export interface PseudoNewItems {
  /** Their original ids. */
  ids: ReadonlySet<string>;
  /** Their hidden ids, sorted: the candidates they are ranked among. */
  candidates: string[];
  /** The catalog with a record under each hidden id too. */
  items: Map<string, ItemRecord>;
  /** A rating with its item's hidden id where the item is pseudo-new, else itself. */
  hide<R extends { itemId: string }>(r: R): R;
}

/**
 * A quarter of the warm items (`isWarm`: the model has an ID row) the validation users touched, at
 * most {@link PSEUDO_NEW_MAX}, picked by {@link pickPseudoNew} and hidden.
 */
export function pseudoNewItems(
  isWarm: (itemId: string) => boolean,
  ctx: Pick<FitContext, 'train' | 'validation' | 'items' | 'seed'>,
): PseudoNewItems {
  const touched = new Set<string>();
  for (const t of ctx.validation)
    for (const r of [...t.support, ...t.query]) if (isWarm(r.itemId)) touched.add(r.itemId);
  const pool = [...touched].sort();
  const ids = new Set(
    pickPseudoNew(pool, Math.min(PSEUDO_NEW_MAX, Math.round(pool.length * PSEUDO_NEW_FRACTION)), ctx),
  );
  const hidden = (id: string) => HIDDEN_PREFIX + id;
  const items = new Map<string, ItemRecord>(ctx.items);
  for (const id of ids) items.set(hidden(id), { ...(ctx.items.get(id) ?? { features: {} }), id: hidden(id) });
  const hide = <R extends { itemId: string }>(r: R): R =>
    ids.has(r.itemId) ? { ...r, itemId: hidden(r.itemId) } : r;
  return { ids, candidates: [...ids].sort().map(hidden), items, hide };
}

/**
 * The users of `tasks` split at the pseudo-new items: each user's ratings of them (hidden ids, as
 * evidence events), and its ratings of every other item (its history, as a task's support).
 */
export function pseudoNewRatings(
  tasks: readonly Task[],
  pseudo: PseudoNewItems,
): { byUser: Map<string, RatingEvent[]>; histories: Task[] } {
  const byUser = new Map<string, RatingEvent[]>();
  const histories: Task[] = [];
  for (const t of tasks) {
    const all = [...t.support, ...t.query];
    const events = all
      .filter((r) => pseudo.ids.has(r.itemId))
      .map((r) => ({
        userId: t.user.id,
        itemId: pseudo.hide(r).itemId,
        value: r.value,
        time: r.time ?? new Date(0),
      }));
    if (events.length) byUser.set(t.user.id, events);
    histories.push({ user: t.user, support: all.filter((r) => !pseudo.ids.has(r.itemId)), query: [] });
  }
  return { byUser, histories };
}

/**
 * Each task split at the pseudo-new items: its interactions with the other items the support,
 * those with the pseudo-new items (hidden) the query, as P2's new-item scenarios split a user.
 * Tasks left without support or query are dropped.
 */
export function splitAtPseudoNew(tasks: readonly Task[], pseudo: PseudoNewItems): Task[] {
  const out: Task[] = [];
  for (const t of tasks) {
    const all = [...t.support, ...t.query];
    const support = all.filter((r) => !pseudo.ids.has(r.itemId));
    const query = all.filter((r) => pseudo.ids.has(r.itemId)).map(pseudo.hide);
    if (support.length > 0 && query.length > 0) out.push({ user: t.user, support, query });
  }
  return out;
}
