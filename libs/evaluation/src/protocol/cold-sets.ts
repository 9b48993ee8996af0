import type { ItemRecord, RatingEvent } from '../data/types';

/** New item under P1: released in `year` or later, or with no release year at all. */
export function isNewItem(item: ItemRecord, year = 1997): boolean {
  const value = item.features['release_year'];
  if (typeof value !== 'number' || !Number.isFinite(value)) return true;
  return value >= year;
}

export function newItemIds(items: Iterable<ItemRecord>, year = 1997): Set<string> {
  const out = new Set<string>();
  for (const item of items) if (isNewItem(item, year)) out.add(item.id);
  return out;
}

/**
 * New users under P1: the last `fraction` of users ordered by their first rating time (ties broken
 * by id so the split is deterministic). Users without ratings have no first rating and no tasks.
 */
export function newUserIds(ratings: Iterable<RatingEvent>, fraction = 0.2): Set<string> {
  const first = new Map<string, number>();
  for (const r of ratings) {
    const t = r.time.getTime();
    const seen = first.get(r.userId);
    if (seen === undefined || t < seen) first.set(r.userId, t);
  }
  const ordered = [...first.entries()].sort((a, b) => a[1] - b[1] || compareIds(a[0], b[0]));
  const count = Math.round(ordered.length * fraction);
  return new Set(ordered.slice(ordered.length - count).map(([id]) => id));
}

/** Numeric ids compare numerically ("2" < "10"), anything else lexically. */
export function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb) && na !== nb) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}
