/**
 * `train.newItems: auto` (learners/new-items-choice.ts): the way new items take their first
 * interactions, chosen on the warm validation users with a seeded sample of warm items playing the
 * new ones. A fake trial stands for the learner so what the choice reads and scores is observable.
 */
import type { ItemCatalog, RatingEvent, Task } from '@warmstart/evaluation';
import {
  chooseNewItems,
  MIN_CHOICE_TASKS,
  NEW_ITEMS_SHOTS,
  type NewItemsTrial,
  type NewItemsWay,
} from '../src/learners/new-items-choice';

const ITEMS = 60;
const itemId = (i: number) => `i${i}`;
const items: ItemCatalog = new Map(
  Array.from({ length: ITEMS }, (_, i) => [itemId(i), { id: itemId(i), features: {} }]),
);

/**
 * Users who mostly touch the low-numbered (popular) items: evidence counts predict the query. With
 * `timed`, item i is first interacted with at time i (higher ids are newer); else no times.
 */
function validationTasks(users: number, timed = true): Task[] {
  return Array.from({ length: users }, (_, u) => {
    const seen = new Set<number>();
    for (let j = 0; seen.size < 12; j++) seen.add(Math.floor(ITEMS * (((u * 7 + j * 13) % 97) / 97) ** 2.5));
    const ratings = [...seen].map((i, j) => ({
      itemId: itemId(i),
      value: 1,
      ...(timed && { time: new Date(1000 * (i * 100 + u + j)) }),
    }));
    return { user: { id: `v${u}`, features: {} }, support: ratings.slice(0, 6), query: ratings.slice(6) };
  });
}

interface Seen {
  way: NewItemsWay;
  evidence: readonly RatingEvent[];
  histories: readonly Task[];
}

/** `good` rows score an item by its evidence count (the popularity of the sample); the other way ties every item. */
function fakeTrial(good: NewItemsWay | 'neither', seen: Seen[] = []): NewItemsTrial {
  return {
    isWarm: (id) => items.get(id) !== undefined,
    rows: (way, evidence, _items, histories) => {
      seen.push({ way, evidence, histories });
      const rows = new Map<string, Float32Array>();
      for (const r of evidence) {
        const row = rows.get(r.itemId) ?? new Float32Array(1);
        row[0] += way === good ? 1 : 0;
        rows.set(r.itemId, row);
      }
      return rows;
    },
    rank: async (tasks, candidates, _items, rows) =>
      tasks.map(() => Float32Array.from(candidates, (c) => rows?.get(c)?.[0] ?? 0)),
  };
}

const ctx = (validation: Task[], seed = 0) => ({
  train: [] as Task[],
  validation,
  items,
  seed,
  kind: 'implicit' as const,
  scale: [0, 1] as [number, number],
});

describe('chooseNewItems', () => {
  const validation = validationTasks(60, false);

  it('chooses the way that ranks the pseudo-new items better, and says by how much', async () => {
    const foldIn = await chooseNewItems(fakeTrial('fold-in'), ctx(validation));
    expect(foldIn?.way).toBe('fold-in');
    expect(foldIn!.scores['fold-in']).toBeGreaterThan(foldIn!.scores['warm-up']);
    const warmUp = await chooseNewItems(fakeTrial('warm-up'), ctx(validation));
    expect(warmUp?.way).toBe('warm-up');
    expect(warmUp!.scores['warm-up']).toBeGreaterThan(warmUp!.scores['fold-in']);
    expect(warmUp!.tasks).toBeGreaterThanOrEqual(MIN_CHOICE_TASKS);
  });

  it('keeps the warm-up when the fold-in is only level with it', async () => {
    const level = await chooseNewItems(fakeTrial('neither'), ctx(validation));
    expect(level?.scores['fold-in']).toBe(level?.scores['warm-up']);
    expect(level?.way).toBe('warm-up');
  });

  it('reads only the validation users: hidden pseudo-new items, at most k interactions each, histories without them', async () => {
    const seen: Seen[] = [];
    const choice = await chooseNewItems(fakeTrial('fold-in', seen), ctx(validation));
    expect(seen).toHaveLength(2 * NEW_ITEMS_SHOTS.length);
    const validationUsers = new Set(validation.map((t) => t.user.id));
    NEW_ITEMS_SHOTS.forEach((k, at) => {
      const { evidence, histories } = seen[2 * at];
      expect(evidence.length).toBeGreaterThan(0);
      const perItem = new Map<string, number>();
      for (const r of evidence) {
        expect(validationUsers.has(r.userId)).toBe(true);
        expect(items.get(r.itemId)).toBeUndefined(); // renamed: the model cannot see its ID row
        perItem.set(r.itemId, (perItem.get(r.itemId) ?? 0) + 1);
      }
      expect(Math.max(...perItem.values())).toBeLessThanOrEqual(k);
      expect(perItem.size).toBeLessThanOrEqual(choice!.items);
      const hidden = new Set([...perItem.keys()].map((id) => id.slice(id.indexOf(':') + 1)));
      for (const h of histories) for (const r of h.support) expect(hidden.has(r.itemId)).toBe(false);
    });
  });

  /** The pseudo-new items (original ids) the last shot's evidence named. */
  const pseudoNew = async (tasks: Task[], seed: number) => {
    const seen: Seen[] = [];
    await chooseNewItems(fakeTrial('fold-in', seen), ctx(tasks, seed));
    const ids = seen[seen.length - 1].evidence.map((r) => r.itemId.slice(r.itemId.indexOf(':') + 1));
    return [...new Set(ids)].sort();
  };

  it('plays the new items with the latest items by first interaction when the data has times', async () => {
    const timed = validationTasks(60);
    const latest = await pseudoNew(timed, 1);
    expect(latest.length).toBeGreaterThan(0);
    expect(await pseudoNew(timed, 2)).toEqual(latest);
    const touched = [...new Set(timed.flatMap((t) => [...t.support, ...t.query].map((r) => r.itemId)))];
    const newest = touched
      .sort((x, y) => Number(y.slice(1)) - Number(x.slice(1)))
      .slice(0, Math.round(touched.length / 4));
    for (const id of latest) expect(newest).toContain(id);
  });

  it('draws a seeded random sample without times: the same from the same seed, others from another', async () => {
    expect(await pseudoNew(validation, 1)).toEqual(await pseudoNew(validation, 1));
    expect(await pseudoNew(validation, 1)).not.toEqual(await pseudoNew(validation, 2));
  });

  it('makes no choice when too few validation tasks can be scored', async () => {
    expect(await chooseNewItems(fakeTrial('fold-in'), ctx(validationTasks(3)))).toBeNull();
    expect(await chooseNewItems(fakeTrial('fold-in'), ctx([]))).toBeNull();
  });
});
