import type { ItemCatalog, Task } from '@warmstart/evaluation';

/**
 * A catalog of 40 featureless items with a level every user agrees on (even items rated 5, odd
 * ones 1), and users who each rate 16 of them: the fixture of the new-item choices' tests, where
 * a new item's first ratings tell everything about it.
 */
export const ITEMS = 40;
export const itemId = (i: number): string => `i${i}`;
export const items: ItemCatalog = new Map(
  Array.from({ length: ITEMS }, (_, i) => [itemId(i), { id: itemId(i), features: {} }]),
);
/** Even items are good (rated 5), odd ones poor (rated 1), by everyone. */
export const rating = (i: number): number => (i % 2 === 0 ? 5 : 1);

/** Users who each rate 16 items spread over the catalog (item i first rated at time i). */
export function tasks(prefix: string, users: number, offset: number): Task[] {
  return Array.from({ length: users }, (_, u) => {
    const ratings = Array.from({ length: 16 }, (_, j) => {
      const i = (u * 5 + j * 3 + offset) % ITEMS;
      return { itemId: itemId(i), value: rating(i), time: new Date(1000 * (i * 100 + u)) };
    });
    return {
      user: { id: `${prefix}${u}`, features: {} },
      support: ratings.slice(0, 8),
      query: ratings.slice(8),
    };
  });
}
