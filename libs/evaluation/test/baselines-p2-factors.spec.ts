import { ImplicitAls } from '../src/baselines/als';
import { alsFoldIn, trainAls } from '../src/baselines/als-model';
import { BiasedMf } from '../src/baselines/biased-mf';
import { mfFoldIn, mfScore } from '../src/baselines/biased-mf-model';
import { ContentRidge } from '../src/baselines/content-ridge';
import { choleskySolveInPlace, gram } from '../src/baselines/dense';
import { InteractionIndex } from '../src/baselines/interaction-index';
import { ItemNeighbours, TopK } from '@warmstart/core';
import { coordinateSearch } from '../src/baselines/tuning';
import {
  itemCatalog,
  type FeedbackKind,
  type ItemRecord,
  type Rating,
  type RatingEvent,
  type Task,
} from '../src/data/types';
import type { FitContext } from '../src/eval/method';
import { createRng } from '../src/util/rng';

const r = (itemId: string, value = 1): Rating => ({ itemId, value });
const task = (id: string, support: Rating[], query: Rating[] = []): Task => ({
  user: { id, features: {} },
  support,
  query,
});
const ev = (userId: string, itemId: string, value = 1): RatingEvent => ({
  userId,
  itemId,
  value,
  time: new Date(0),
});
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);
const genreItems = (genre: string, list: readonly string[]): ItemRecord[] =>
  list.map((id) => ({ id, features: { genres: [genre] } }));
function context(
  train: Task[],
  validation: Task[],
  items: ReadonlyMap<string, ItemRecord>,
  kind: FeedbackKind,
  seed = 0,
): FitContext {
  return { train, validation, items, users: [], seed, kind, scale: kind === 'implicit' ? [1, 1] : [1, 5] };
}
const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((s, x) => s + x, 0) / xs.length;

// Two planted tastes: rock fans play most rock items A1-A6, jazz fans most jazz items B1-B6;
// Anew / Bnew are unseen items of each genre, Cold one with no content.
const rock = ids('A', 6);
const jazz = ids('B', 6);
const items = itemCatalog([
  ...genreItems('rock', [...rock, 'Anew']),
  ...genreItems('jazz', [...jazz, 'Bnew']),
  { id: 'Cold', features: {} },
]);
const implicitTrain = [
  ...ids('rockfan', 12).map((u, k) =>
    task(
      u,
      rock.filter((_, i) => i !== k % 6).map((i) => r(i)),
    ),
  ),
  ...ids('jazzfan', 12).map((u, k) =>
    task(
      u,
      jazz.filter((_, i) => i !== k % 6).map((i) => r(i)),
    ),
  ),
];
const implicitValidation = [
  task('v1', [r('A1'), r('A2')], [r('A3'), r('A4')]),
  task('v2', [r('B1')], [r('B2'), r('B5')]),
];
const implicitCtx = context(implicitTrain, implicitValidation, items, 'implicit');

describe('implicit ALS', () => {
  it('folds a new user in from the support (hand-computed solve)', () => {
    // Items A = [1, 0] x3, B = [0, 1] x3: YtY + reg I = diag(4, 4) with reg 1. Support A1, A2,
    // alpha 1: (diag(4, 4) + diag(2, 0)) x = 2 * [2, 0]  =>  x = [2/3, 0].
    const y = Float32Array.from([1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1]);
    const x = alsFoldIn(gram(y, 6, 2, 1), y.subarray(0, 4), 2, 2, { alpha: 1, reg: 1 });
    expect(x[0]).toBeCloseTo(2 / 3);
    expect(x[1]).toBeCloseTo(0);
  });

  it('recovers the planted tastes: a new rock listener ranks unseen rock items above every jazz item', async () => {
    const m = new ImplicitAls();
    const fit = await m.fit(implicitCtx);
    expect(fit.tuned).toEqual(
      expect.objectContaining({ factors: expect.any(Number), reg: expect.any(Number) }),
    );
    const candidates = [...rock.slice(2), ...jazz];
    const [rockScores, jazzScores] = await m.rank(
      [task('n1', [r('A1'), r('A2')]), task('n2', [r('B1'), r('B2')])],
      candidates,
      items,
    );
    expect(Math.min(...rockScores.subarray(0, 4))).toBeGreaterThan(Math.max(...rockScores.subarray(4)));
    expect(Math.min(...jazzScores.subarray(4))).toBeGreaterThan(Math.max(...jazzScores.subarray(0, 4)));
  });

  it('trains factors that reconstruct the observed pairs above the unobserved ones', () => {
    const index = InteractionIndex.fromTasks(implicitTrain);
    const f = 4;
    const { users, items: y } = trainAls(
      index,
      { factors: f, reg: 0.1, alpha: 10, iterations: 10, cgSteps: 3 },
      createRng(1),
    );
    const score = (u: string, i: string) => {
      const uo = index.userIndex.get(u)! * f;
      const io = index.itemIndex.get(i)! * f;
      let s = 0;
      for (let k = 0; k < f; k++) s += users[uo + k] * y[io + k];
      return s;
    };
    expect(score('rockfan2', 'A1')).toBeGreaterThan(0.5);
    expect(Math.abs(score('rockfan2', 'B1'))).toBeLessThan(0.2);
    expect(score('rockfan2', 'A2')).toBeGreaterThan(score('rockfan2', 'B2'));
    // The held-out pair of the same taste scores above the other taste's items.
    expect(score('rockfan2', 'A2')).toBeGreaterThan(score('jazzfan2', 'A2'));
  });

  it('gives unseen items factors from their genre, or from the item evidence of training users', async () => {
    const m = new ImplicitAls();
    await m.fit(implicitCtx);
    const candidates = ['Anew', 'Bnew', 'Cold'];
    const [s] = await m.rank([task('n', [r('A1'), r('A2')])], candidates, items);
    expect(s[0]).toBeGreaterThan(s[1]);
    expect(s[2]).toBe(0); // no content, no evidence: a zero vector
    // Evidence: Cold was played by three jazz fans, Anew by one rock fan.
    const itemEvidence = [
      ev('jazzfan1', 'Cold'),
      ev('jazzfan2', 'Cold'),
      ev('jazzfan3', 'Cold'),
      ev('outsider', 'Anew'),
    ];
    const [jazzUser] = await m.rank([task('n', [r('B1'), r('B2')])], candidates, items, { itemEvidence });
    expect(jazzUser[2]).toBeGreaterThan(jazzUser[0]);
  });

  it('is deterministic under a seed and refuses explicit data', async () => {
    const run = async (seed: number) => {
      const m = new ImplicitAls({ factors: 4, reg: 1, alpha: 10 });
      await m.fit(context(implicitTrain, implicitValidation, items, 'implicit', seed));
      return (await m.rank([task('n', [r('A1')])], [...rock, ...jazz], items))[0];
    };
    const a = await run(3);
    expect(Array.from(await run(3))).toEqual(Array.from(a));
    expect(Array.from(await run(4))).not.toEqual(Array.from(a));
    await expect(new ImplicitAls().fit(context(implicitTrain, [], items, 'explicit'))).rejects.toThrow(
      /implicit feedback only/,
    );
    await expect(new ImplicitAls().predict()).rejects.toThrow(/rank/);
  });
});

// Explicit, planted: rock fans rate rock 5 and jazz 1, jazz fans the reverse.
const explicitTrain = [
  ...ids('rockfan', 12).map((u, k) =>
    task(u, [
      ...rock.filter((_, i) => i !== k % 6).map((i) => r(i, 5)),
      ...jazz.filter((_, i) => i !== (k + 1) % 6).map((i) => r(i, 1)),
    ]),
  ),
  ...ids('jazzfan', 12).map((u, k) =>
    task(u, [
      ...rock.filter((_, i) => i !== k % 6).map((i) => r(i, 1)),
      ...jazz.filter((_, i) => i !== (k + 1) % 6).map((i) => r(i, 5)),
    ]),
  ),
];
const explicitValidation = [
  task('v1', [r('A1', 5), r('B1', 1)], [r('A3', 5), r('B3', 1)]),
  task('v2', [r('A2', 1), r('B2', 5)], [r('A4', 1), r('B4', 5)]),
];
const explicitCtx = context(explicitTrain, explicitValidation, items, 'explicit');

describe('biased MF', () => {
  it('folds a user in from the support ratings (hand-computed solve)', () => {
    // mean 3; items [b, q] = [0, 1] and [0, -1]; ratings 5 and 1: targets 2, -2, psi [1, 1], [1, -1].
    // (2 I + reg I) z = [0, 4] with reg 1  =>  z = [0, 4/3]; item 1 predicted 3 + 4/3.
    const rows = Float32Array.from([0, 1, 0, -1]);
    const z = mfFoldIn({ mean: 3 }, rows, [5, 1], 2, 1);
    expect(z[0]).toBeCloseTo(0);
    expect(z[1]).toBeCloseTo(4 / 3);
    expect(mfScore(3, z, rows, 0, 2)).toBeCloseTo(3 + 4 / 3);
  });

  it('recovers the planted tastes from a two-rating support', async () => {
    const m = new BiasedMf();
    const fit = await m.fit(explicitCtx);
    expect(fit.tuned).toEqual(
      expect.objectContaining({ factors: expect.any(Number), reg: expect.any(Number) }),
    );
    const query = [r('A5', 5), r('A6', 5), r('B5', 1), r('B6', 1)];
    const [rockFan, jazzFan] = await m.predict(
      [task('n1', [r('A1', 5), r('B1', 1)], query), task('n2', [r('A1', 1), r('B1', 5)], query)],
      items,
    );
    expect(mean(rockFan.subarray(0, 2))).toBeGreaterThan(mean(rockFan.subarray(2)) + 1);
    expect(mean(jazzFan.subarray(2))).toBeGreaterThan(mean(jazzFan.subarray(0, 2)) + 1);
    for (const p of [...rockFan, ...jazzFan]) {
      expect(p).toBeGreaterThanOrEqual(1);
      expect(p).toBeLessThanOrEqual(5);
    }
    const [ranked] = await m.rank([task('n1', [r('A1', 5), r('B1', 1)])], ['B5', 'A5'], items);
    expect(ranked[1]).toBeGreaterThan(ranked[0]);
  });

  it('scores unseen items through their genre and item evidence, and refuses implicit data', async () => {
    const m = new BiasedMf();
    await m.fit(explicitCtx);
    const rockFan = task('n1', [r('A1', 5), r('B1', 1)], [r('Anew', 3), r('Bnew', 3), r('Cold', 3)]);
    const [plain] = await m.predict([rockFan], items);
    expect(plain[0]).toBeGreaterThan(plain[1] + 1);
    // Evidence: Cold rated 5 by three rock fans and 1 by three jazz fans: it is a rock item.
    const itemEvidence = [
      ...['rockfan1', 'rockfan2', 'rockfan3'].map((u) => ev(u, 'Cold', 5)),
      ...['jazzfan1', 'jazzfan2', 'jazzfan3'].map((u) => ev(u, 'Cold', 1)),
    ];
    const [pred] = await m.predict([rockFan], items, undefined, { itemEvidence });
    expect(pred[2]).toBeGreaterThan(plain[2] + 0.5);
    await expect(new BiasedMf().fit(context(explicitTrain, [], items, 'implicit'))).rejects.toThrow(
      /explicit ratings only/,
    );
  });

  it('is deterministic under a seed', async () => {
    const run = async () => {
      const m = new BiasedMf([1, 5], { factors: 3, reg: 3 });
      await m.fit(explicitCtx);
      return (await m.rank([task('n', [r('A1', 4)])], [...rock, ...jazz], items))[0];
    };
    expect(Array.from(await run())).toEqual(Array.from(await run()));
  });
});

describe('building blocks', () => {
  it('InteractionIndex dedupes a user pairs and keeps indices when evidence is added', () => {
    const index = InteractionIndex.fromRows([
      { userId: 'u', ratings: [r('a', 1), r('b', 2), r('a', 3)] },
      { userId: 'v', ratings: [r('b', 4)] },
    ]);
    expect(index.count(index.itemIndex.get('a')!)).toBe(1);
    expect(index.count(index.itemIndex.get('b')!)).toBe(2);
    expect(index.rowValues[index.rowPtr[0]]).toBe(3); // the last value of (u, a)
    const more = index.withEvidence([ev('v', 'c'), ev('w', 'c')]);
    expect(more.itemIndex.get('a')).toBe(index.itemIndex.get('a'));
    expect(more.userIndex.get('v')).toBe(index.userIndex.get('v'));
    expect(more.count(more.itemIndex.get('c')!)).toBe(2);
    expect(more.users).toBe(3);
  });

  it('ItemNeighbours holds cosine similarities of co-occurrence, most similar first', () => {
    const index = InteractionIndex.fromRows([
      { userId: 'u1', ratings: [r('a'), r('b')] },
      { userId: 'u2', ratings: [r('a'), r('b'), r('c')] },
      { userId: 'u3', ratings: [r('c')] },
    ]);
    const nb = ItemNeighbours.build(index, 5);
    const a = index.itemIndex.get('a')!;
    const list = Array.from(nb.items.subarray(nb.ptr[a], nb.ptr[a + 1]), (j) => index.itemIds[j]);
    expect(list).toEqual(['b', 'c']);
    expect(nb.sims[nb.ptr[a]]).toBeCloseTo(1);
    expect(nb.sims[nb.ptr[a] + 1]).toBeCloseTo(0.5); // co 1 / sqrt(2 * 2)
    expect(ItemNeighbours.build(index, 1).ptr[3]).toBe(3); // one neighbour each
  });

  it('TopK keeps the k best, ties to the lower id', () => {
    const top = new TopK(3);
    [
      [5, 0.1],
      [2, 0.9],
      [7, 0.5],
      [1, 0.5],
      [3, 0.2],
    ].forEach(([id, s]) => top.push(id, s));
    expect(Array.from(top.sorted().ids)).toEqual([2, 1, 7]);
  });

  it('choleskySolveInPlace solves a small SPD system', () => {
    const x = choleskySolveInPlace(Float64Array.from([4, 2, 2, 3]), Float64Array.from([8, 7]), 2);
    expect(x[0]).toBeCloseTo(1.25);
    expect(x[1]).toBeCloseTo(1.5);
  });

  it('ContentRidge predicts an unseen item near its genre mean, nothing without content', () => {
    const ridge = ContentRidge.fit(
      [
        ...genreItems('rock', ['a', 'b']).map((item) => ({ item, target: [2, 1], weight: 10 })),
        ...genreItems('jazz', ['c', 'd']).map((item) => ({ item, target: [-2, 1], weight: 10 })),
      ],
      2,
      0.1,
    );
    const out = new Float64Array(2);
    expect(ridge.predictInto({ id: 'n', features: { genres: ['rock'] } }, out)).toBe(true);
    expect(out[0]).toBeCloseTo(2, 1);
    expect(out[1]).toBeCloseTo(1);
    expect(ridge.predictInto({ id: 'm', features: {} }, out)).toBe(false);
  });

  it('coordinateSearch moves one hyper-parameter at a time and scores each point once', async () => {
    const calls: string[] = [];
    const { best, evaluated } = await coordinateSearch(
      { a: 1, b: 1 },
      [
        { key: 'a', values: [0, 1, 2] },
        { key: 'b', values: [0, 1, 2] },
      ],
      async (p) => {
        calls.push(`${p.a},${p.b}`);
        return -((p.a - 2) ** 2) - (p.b - 0) ** 2;
      },
    );
    expect(best).toEqual({ a: 2, b: 0 });
    expect(evaluated).toBe(5);
    expect(calls).toEqual(['1,1', '0,1', '2,1', '2,0', '2,2']);
  });
});
