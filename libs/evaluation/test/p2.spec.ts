import type { RatingEvent, Task } from '../src/data/types';
import { buildP2Task, splitP2 } from '../src/protocol/p2';
import { newItemKShot, newUserKShot } from '../src/protocol/p2-kshot';
import { datasetHasTimes } from '../src/protocol/p2-order';
import { SCENARIOS } from '../src/protocol/scenarios';
import { p2Dataset } from '../src/testing';

const pairs = (tasks: readonly Task[], part: 'support' | 'query' | 'both') =>
  tasks.flatMap((t) =>
    (part === 'both' ? [...t.support, ...t.query] : t[part]).map((r) => `${t.user.id}\t${r.itemId}`),
  );

describe('protocol P2 split', () => {
  const data = p2Dataset({ itemFeatures: true });
  const split = splitP2(data, { seed: 0 });

  it('support = the first interactions in time order, query = the rest (capped)', () => {
    const user = { id: 'x', features: {} };
    const events: RatingEvent[] = Array.from({ length: 9 }, (_, i) => ({
      userId: 'x',
      itemId: `i${i}`,
      value: 3,
      time: new Date(1000 * i),
    }));
    const task = buildP2Task(user, events, { minSupport: 1, maxQuery: 3, supportFraction: 0.5 })!;
    expect(task.support.map((r) => r.itemId)).toEqual(['i0', 'i1', 'i2', 'i3']);
    expect(task.query.map((r) => r.itemId)).toEqual(['i4', 'i5', 'i6']);
    const uncapped = buildP2Task(user, events, { minSupport: 1, maxQuery: 3, supportFraction: 0.5 }, false)!;
    expect(uncapped.query).toHaveLength(5);
    // every scored task of a real split: support strictly before query, support half of the interactions
    for (const s of SCENARIOS) {
      for (const t of split.tasks[s]) {
        const lastSupport = Math.max(...t.support.map((r) => r.time!.getTime()));
        expect(Math.min(...t.query.map((r) => r.time!.getTime()))).toBeGreaterThan(lastSupport);
        const n = data.ratings.filter(
          (r) =>
            r.userId === t.user.id &&
            (s === 'new_item' || s === 'new_user_new_item') === split.newItems.has(r.itemId),
        ).length;
        expect(t.support.length).toBe(Math.max(1, Math.floor(n / 2)));
      }
    }
  });

  it('a task needs minSupport + 1 interactions', () => {
    const user = { id: 'x', features: {} };
    const ev = (n: number): RatingEvent[] =>
      Array.from({ length: n }, (_, i) => ({ userId: 'x', itemId: `i${i}`, value: 1, time: new Date(i) }));
    const rules = { minSupport: 3, maxQuery: 100, supportFraction: 0.5 };
    expect(buildP2Task(user, ev(3), rules)).toBeNull();
    const four = buildP2Task(user, ev(4), rules)!;
    expect([four.support.length, four.query.length]).toEqual([3, 1]);
    expect(buildP2Task(user, ev(2), { ...rules, minSupport: 1 })!.support).toHaveLength(1);
    const strict = splitP2(data, { seed: 0, minSupport: 4 });
    for (const s of SCENARIOS)
      for (const t of strict.tasks[s]) expect(t.support.length).toBeGreaterThanOrEqual(4);
    expect(strict.tasks.new_item.length).toBeLessThan(split.tasks.new_item.length);
  });

  it('new users: the last 20% by first interaction time', () => {
    // users start one day apart in id order: the last 16 of 80
    expect([...split.newUsers].sort()).toEqual(Array.from({ length: 16 }, (_, i) => `u${64 + i}`).sort());
    expect(split.basis.newUsers).toBe('first-interaction');
  });

  it('new items: the last 20% by availability time, else by first interaction time', () => {
    const byAvailability = splitP2(p2Dataset({ itemFeatures: true, availability: true }), { seed: 0 });
    expect(byAvailability.basis.newItems).toBe('availability');
    expect([...byAvailability.newItems].sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `i${48 + i}`).sort(),
    );
    // without availability: the 12 items whose first interaction is latest
    const first = new Map<string, number>();
    for (const r of data.ratings)
      first.set(r.itemId, Math.min(first.get(r.itemId) ?? Infinity, r.time.getTime()));
    const latest = [...first.entries()].sort((a, b) => a[1] - b[1]).slice(-12);
    expect(split.basis.newItems).toBe('first-interaction');
    expect([...split.newItems].sort()).toEqual(latest.map(([id]) => id).sort());
    expect(split.newItemIds.every((id) => split.newItems.has(id))).toBe(true);
    expect(split.warmItemIds.some((id) => split.newItems.has(id))).toBe(false);
    expect(split.warmItemIds.length + split.newItemIds.length).toBe(first.size);
  });

  it('lists candidates in a seeded random order, not by id (ties must not rank by id)', () => {
    const byId = [...split.warmItemIds].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
    expect(split.warmItemIds).not.toEqual(byId);
    expect(splitP2(data, { seed: 0 }).warmItemIds).toEqual(split.warmItemIds);
    expect(splitP2(data, { seed: 1 }).warmItemIds).not.toEqual(split.warmItemIds);
  });

  it('no leakage: training holds no new user, no new item and no scored query interaction', () => {
    const train = new Set(pairs(split.warm.train, 'both'));
    const trainUsers = new Set(split.warm.train.map((t) => t.user.id));
    const trainItems = new Set(
      split.warm.train.flatMap((t) => [...t.support, ...t.query].map((r) => r.itemId)),
    );
    for (const id of split.newUsers) expect(trainUsers.has(id)).toBe(false);
    for (const id of split.newItems) expect(trainItems.has(id)).toBe(false);
    const scored = [...SCENARIOS.flatMap((s) => split.tasks[s]), ...split.warm.validation];
    for (const pair of pairs(scored, 'query')) expect(train.has(pair)).toBe(false);
    // warm users are partitioned: meta-training, validation and warm-test share no user
    const ids = (ts: Task[]) => ts.map((t) => t.user.id);
    const all = [...ids(split.warm.train), ...ids(split.warm.validation), ...ids(split.warm.test)];
    expect(new Set(all).size).toBe(all.length);
    expect(split.warm.validation.length).toBe(Math.round(all.length * 0.1));
  });

  it('implicit data: every interaction is a positive of value 1', () => {
    const implicit = splitP2(p2Dataset({ kind: 'implicit' }), { seed: 0 });
    const values = new Set(
      [...implicit.warm.train, ...implicit.tasks.new_user].flatMap((t) =>
        [...t.support, ...t.query].map((r) => r.value),
      ),
    );
    expect([...values]).toEqual([1]);
  });

  it('is deterministic and, with times, the same split for every seed', () => {
    const again = splitP2(data, { seed: 0 });
    expect(again.tasks).toEqual(split.tasks);
    const other = splitP2(data, { seed: 1 });
    expect(other.newUsers).toEqual(split.newUsers);
    expect(other.newItems).toEqual(split.newItems);
    expect(other.tasks.new_user).toEqual(split.tasks.new_user);
  });
});

describe('protocol P2 without times', () => {
  const data = p2Dataset({ times: false });
  const { hasTimes: _, ...unflagged } = data;

  it('detects a dataset without times (flag, or one time for everything)', () => {
    expect(datasetHasTimes(data)).toBe(false);
    expect(datasetHasTimes(unflagged)).toBe(false);
    expect(datasetHasTimes(p2Dataset())).toBe(true);
  });

  it('seeded random new users, new items and orders: fixed by the seed, different across seeds', () => {
    const a = splitP2(unflagged, { seed: 0 });
    const b = splitP2(unflagged, { seed: 0 });
    const c = splitP2(unflagged, { seed: 1 });
    expect(a.hasTimes).toBe(false);
    expect(a.basis).toEqual({ newItems: 'random', newUsers: 'random' });
    expect(a.newUsers.size).toBe(16);
    expect(a.newItems.size).toBe(12);
    expect(b.newUsers).toEqual(a.newUsers);
    expect(b.tasks).toEqual(a.tasks);
    expect(c.newUsers).not.toEqual(a.newUsers);
    expect(c.newItems).not.toEqual(a.newItems);
    // orders are shuffled, not id order: some support set is out of id order
    const sortedIds = (t: Task) => {
      const ids = t.support.map((r) => r.itemId);
      return ids.join() === [...ids].sort().join();
    };
    expect(a.tasks.new_user.some((t) => t.support.length > 2 && !sortedIds(t))).toBe(true);
  });

  it('keeps availability times for new items when every item has one', () => {
    const withAvailability = splitP2(p2Dataset({ times: false, availability: true }), { seed: 3 });
    expect(withAvailability.basis).toEqual({ newItems: 'availability', newUsers: 'random' });
    expect([...withAvailability.newItems].sort()).toEqual(
      Array.from({ length: 12 }, (_, i) => `i${48 + i}`).sort(),
    );
  });
});

describe('protocol P2 k-shot views', () => {
  const data = p2Dataset({ users: 120, perUser: [6, 24] });
  const split = splitP2(data, { seed: 0 });

  it('new users: support cut to the first k, users with at least k, query unchanged', () => {
    const views = newUserKShot(split.tasks.new_user, [1, 5, 10]);
    for (const v of views) {
      const eligible = split.tasks.new_user.filter((t) => t.support.length >= v.k);
      expect(v.tasks).toHaveLength(eligible.length);
      v.tasks.forEach((t, i) => {
        expect(t.support).toEqual(eligible[i].support.slice(0, v.k));
        expect(t.query).toEqual(eligible[i].query);
      });
      expect(v.itemEvidence).toEqual([]);
    }
    expect(views[0].tasks.length).toBeGreaterThan(views[2].tasks.length);
  });

  it("new items: evidence = each new item's first k interactions; support inside it, query outside", () => {
    for (const view of newItemKShot(split, [1, 3])) {
      const byItem = new Map<string, RatingEvent[]>();
      for (const r of view.itemEvidence) byItem.set(r.itemId, [...(byItem.get(r.itemId) ?? []), r]);
      for (const [itemId, list] of byItem) {
        expect(split.newItems.has(itemId)).toBe(true);
        expect(list.length).toBeLessThanOrEqual(view.k);
        // the first k in time among the new-item scenario's (existing) users
        const all = [...split.events.new_item.values()].flat().filter((r) => r.itemId === itemId);
        const cutoff = Math.max(...list.map((r) => r.time.getTime()));
        expect(all.filter((r) => r.time.getTime() < cutoff).length).toBeLessThan(view.k);
      }
      const evidence = new Set(view.itemEvidence.map((r) => `${r.userId}\t${r.itemId}`));
      expect(view.tasks.length).toBeGreaterThan(0);
      for (const t of view.tasks) {
        for (const r of t.support) expect(evidence.has(`${t.user.id}\t${r.itemId}`)).toBe(true);
        for (const r of t.query) expect(evidence.has(`${t.user.id}\t${r.itemId}`)).toBe(false);
        expect(t.support.length).toBeGreaterThanOrEqual(1);
        expect(t.query.length).toBeGreaterThanOrEqual(1);
      }
    }
  });
});
