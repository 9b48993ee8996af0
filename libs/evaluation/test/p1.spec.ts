import type { Dataset, RatingEvent } from '../src/data/types';
import { isNewItem, newUserIds } from '../src/protocol/cold-sets';
import { splitP1 } from '../src/protocol/p1';
import { buildTask } from '../src/protocol/tasks';

const day = (d: number) => new Date(Date.UTC(2000, 0, 1 + d));
const user = (id: string) => ({ id, features: {} });
const ratingsFor = (userId: string, n: number, startDay = 0, prefix = 'i'): RatingEvent[] =>
  Array.from({ length: n }, (_, k) => ({
    userId,
    itemId: `${prefix}${k}`,
    value: 1 + (k % 5),
    time: day(startDay + k),
  }));

describe('P1 cold sets', () => {
  it('treats items released in 1997 or later, or undated, as new', () => {
    expect(isNewItem({ id: 'a', features: { release_year: 1997 } })).toBe(true);
    expect(isNewItem({ id: 'b', features: { release_year: 1998 } })).toBe(true);
    expect(isNewItem({ id: 'c', features: { release_year: 1996 } })).toBe(false);
    expect(isNewItem({ id: 'd', features: { release_year: null } })).toBe(true);
    expect(isNewItem({ id: 'e', features: {} })).toBe(true);
  });

  it('makes the last 20% of users by first rating time new, whatever the input order', () => {
    // ten users; user k first rates on day 10-k, so users 9 and 8 ... are earliest; 0 and 1 latest.
    const ratings = Array.from({ length: 10 }, (_, k) => ({
      userId: String(k),
      itemId: 'x',
      value: 3,
      time: day(10 - k),
    })).reverse();
    ratings.push({ userId: '9', itemId: 'y', value: 3, time: day(50) }); // later ratings do not matter
    expect([...newUserIds(ratings, 0.2)].sort()).toEqual(['0', '1']);
  });
});

describe('P1 task building', () => {
  it('drops tasks with fewer than 13 ratings', () => {
    expect(buildTask(user('u'), ratingsFor('u', 12), 'warm', 0)).toBeNull();
    const task = buildTask(user('u'), ratingsFor('u', 13), 'warm', 0)!;
    expect(task.query).toHaveLength(10);
    expect(task.support).toHaveLength(3);
  });

  it('keeps a seeded random 100 of larger tasks, 10 of them as the query set', () => {
    const all = ratingsFor('u', 150);
    const a = buildTask(user('u'), all, 'warm', 7)!;
    const b = buildTask(user('u'), all.slice().reverse(), 'warm', 7)!;
    const c = buildTask(user('u'), all, 'warm', 8)!;
    expect(a.query).toHaveLength(10);
    expect(a.support).toHaveLength(90);
    const ids = (t: typeof a) => [...t.query, ...t.support].map((r) => r.itemId);
    expect(new Set(ids(a)).size).toBe(100);
    expect(ids(b)).toEqual(ids(a)); // input order does not matter
    expect(ids(c)).not.toEqual(ids(a)); // the seed does
  });
});

describe('splitP1', () => {
  // 10 users; users 8 and 9 start last (new). Items o* are old (1990), n* new (1998).
  const items = [
    ...Array.from({ length: 30 }, (_, k) => ({
      id: `o${k}`,
      features: { release_year: 1990, genres: ['A'] },
    })),
    ...Array.from({ length: 20 }, (_, k) => ({
      id: `n${k}`,
      features: { release_year: 1998, genres: ['B'] },
    })),
  ];
  const users = Array.from({ length: 10 }, (_, k) => user(String(k)));
  const ratings: RatingEvent[] = [];
  for (let k = 0; k < 10; k++) {
    ratings.push(...ratingsFor(String(k), 20, k * 100, 'o'));
    // users 0-4 rate 15 new items (a task), users 5-9 only 5 (dropped: < 13)
    ratings.push(...ratingsFor(String(k), k < 5 ? 15 : 5, k * 100 + 50, 'n'));
  }
  const dataset: Dataset = { name: 'hand-made', users, items, ratings };

  it('assigns every task to the scenario of its user and items', () => {
    const split = splitP1(dataset, { seed: 1 });
    expect([...split.newUsers].sort()).toEqual(['8', '9']);
    expect(split.newItems.size).toBe(20);
    expect(split.tasks.warm.map((t) => t.user.id).sort()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(split.tasks.new_user.map((t) => t.user.id).sort()).toEqual(['8', '9']);
    expect(split.tasks.new_item.map((t) => t.user.id).sort()).toEqual(['0', '1', '2', '3', '4']);
    expect(split.tasks.new_user_new_item).toHaveLength(0);
    for (const t of split.tasks.new_item) {
      for (const r of [...t.support, ...t.query]) expect(split.newItems.has(r.itemId)).toBe(true);
    }
    for (const t of split.tasks.warm) {
      for (const r of [...t.support, ...t.query]) expect(split.newItems.has(r.itemId)).toBe(false);
    }
  });

  it('partitions warm tasks by user into disjoint train, validation and test sets', () => {
    const split = splitP1(dataset, { seed: 3, validationFraction: 0.25, testFraction: 0.25 });
    const ids = (ts: { user: { id: string } }[]) => ts.map((t) => t.user.id);
    const all = [...ids(split.warm.train), ...ids(split.warm.validation), ...ids(split.warm.test)];
    expect(all.sort()).toEqual(ids(split.tasks.warm).sort());
    expect(split.warm.validation).toHaveLength(2);
    expect(split.warm.test).toHaveLength(2);
    expect(splitP1(dataset, { seed: 3, validationFraction: 0.25, testFraction: 0.25 }).warm).toEqual(
      split.warm,
    );
  });
});
