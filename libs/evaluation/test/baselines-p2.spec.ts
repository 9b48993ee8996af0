import { ContentKnn } from '../src/baselines/content-knn';
import { GlobalMean } from '../src/baselines/global-mean';
import { ItemBias } from '../src/baselines/item-bias';
import { ItemKnn } from '../src/baselines/item-knn';
import { Popularity } from '../src/baselines/popularity';
import { UserItemBias } from '../src/baselines/user-item-bias';
import { relevanceThreshold, validationRankingScore, warmItemIds } from '../src/baselines/validation';
import {
  itemCatalog,
  type FeedbackKind,
  type ItemRecord,
  type Rating,
  type RatingEvent,
  type Task,
} from '../src/data/types';
import type { FitContext } from '../src/eval/method';

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
  kind: FeedbackKind = 'implicit',
): FitContext {
  return { train, validation, items, users: [], seed: 0, kind, scale: kind === 'implicit' ? [1, 1] : [1, 5] };
}
/** Candidate ids by descending score (ties: candidate order). */
const order = (candidates: readonly string[], scores: Float32Array) =>
  candidates
    .map((id, i) => ({ id, s: scores[i], i }))
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .map((c) => c.id);

// Implicit: rock items R1-R5 are played by 10 users, jazz items J1-J5 by 4; Rnew / Jnew are unseen.
const rock = ids('R', 5);
const jazz = ids('J', 5);
const implicitItems = itemCatalog([
  ...genreItems('rock', [...rock, 'Rnew']),
  ...genreItems('jazz', [...jazz, 'Jnew']),
  { id: 'Bare', features: {} },
]);
const implicitTrain = [
  ...ids('rockfan', 10).map((u, k) =>
    task(
      u,
      rock.slice(0, 2 + (k % 4)).map((i) => r(i)),
    ),
  ),
  ...ids('jazzfan', 4).map((u) =>
    task(
      u,
      jazz.map((i) => r(i)),
    ),
  ),
];
const implicitValidation = [task('v1', [r('R1')], [r('R2'), r('R3')]), task('v2', [r('J1')], [r('J2')])];
const implicitCtx = context(implicitTrain, implicitValidation, implicitItems);

describe('popularity', () => {
  it('ranks by training interactions, the same for every user, and counts item evidence', async () => {
    const m = new Popularity();
    await m.fit(implicitCtx);
    const candidates = ['J1', 'R3', 'R1', 'Rnew'];
    const [a, b] = await m.rank([task('x', [r('J2')]), task('y', [])], candidates, implicitItems);
    expect(Array.from(a)).toEqual([4, 7, 10, 0]); // R1 by all 10 rock fans, R3 by the 7 with k % 4 >= 1
    expect(Array.from(b)).toEqual(Array.from(a));
    const [withEvidence] = await m.rank([task('x', [])], candidates, implicitItems, {
      itemEvidence: [ev('n1', 'Rnew'), ev('n2', 'Rnew'), ev('n2', 'Rnew')],
    });
    expect(withEvidence[3]).toBe(2); // distinct users
  });

  it('predicts the global mean on explicit data and refuses to predict implicit data', async () => {
    const explicit = new GlobalMean();
    await explicit.fit(context([task('u', [r('R1', 5), r('J1', 2)])], [], implicitItems, 'explicit'));
    const [pred] = await explicit.predict([task('x', [], [r('J2', 1)])], implicitItems);
    expect(pred[0]).toBeCloseTo(3.5);
    expect(explicit.name).toBe('global-mean');
    const implicit = new Popularity();
    await implicit.fit(implicitCtx);
    await expect(implicit.predict([task('x', [], [r('R1')])], implicitItems)).rejects.toThrow(/implicit/);
  });
});

describe('item-bias on implicit data (log-popularity)', () => {
  it('ranks warm items by popularity and unseen items by the content regression of their genre', async () => {
    const m = new ItemBias();
    await m.fit(implicitCtx);
    const candidates = ['J1', 'R1', 'Jnew', 'Rnew', 'Bare'];
    const [s] = await m.rank([task('x', [])], candidates, implicitItems);
    expect(s[1]).toBeCloseTo(Math.log1p(10));
    expect(s[0]).toBeCloseTo(Math.log1p(4));
    expect(s[3]).toBeGreaterThan(s[2] + 0.1); // unseen rock above unseen jazz: rock is the popular genre
    expect(s[4]).toBeGreaterThan(s[2]); // no content: about the mean log-popularity, between the genres
    expect(s[4]).toBeLessThan(s[3]);
  });

  it('adds an unseen item evidence on top of its content prior', async () => {
    const m = new ItemBias();
    await m.fit(implicitCtx);
    const [plain] = await m.rank([task('x', [])], ['Jnew', 'Rnew'], implicitItems);
    const [s] = await m.rank([task('x', [])], ['Jnew', 'Rnew'], implicitItems, {
      itemEvidence: [ev('a', 'Jnew'), ev('b', 'Jnew'), ev('c', 'Jnew')],
    });
    expect(s[0]).toBeCloseTo(plain[0] + Math.log1p(3));
    expect(s[1]).toBeCloseTo(plain[1]);
  });
});

// Explicit: items g* are rated 5 by everyone, b* 2; gNew / bNew unseen, with those genres.
const explicitItems = itemCatalog([
  ...genreItems('good', ['g1', 'g2', 'g3', 'gNew']),
  ...genreItems('bad', ['b1', 'b2', 'b3', 'bNew']),
]);
const explicitTrain = Array.from({ length: 6 }, (_, k) =>
  task(`u${k}`, [r('g1', 5), r('b1', 2), r('g2', 5)], [r('b2', 2), r('g3', 5), r('b3', 2)]),
);
const explicitCtx = context(
  explicitTrain,
  [task('v', [r('g1', 5)], [r('b1', 2), r('g2', 5)])],
  explicitItems,
  'explicit',
);

describe('item-bias and user-item-bias ranking (explicit)', () => {
  it('item-bias ranks by predicted rating, unseen items by their genre regression', async () => {
    const m = new ItemBias();
    await m.fit(explicitCtx);
    const candidates = ['b2', 'gNew', 'bNew', 'g3'];
    const [s] = await m.rank([task('x', [])], candidates, explicitItems);
    expect(order(candidates, s)).toEqual(['g3', 'gNew', 'bNew', 'b2']);
  });

  it('item evidence moves an unseen item bias toward its ratings', async () => {
    const m = new ItemBias();
    await m.fit(explicitCtx);
    const options = { itemEvidence: [ev('a', 'bNew', 5), ev('b', 'bNew', 5), ev('c', 'bNew', 5)] };
    const [plain] = await m.predict([task('x', [], [r('bNew', 5), r('gNew', 5)])], explicitItems);
    const [pred] = await m.predict(
      [task('x', [], [r('bNew', 5), r('gNew', 5)])],
      explicitItems,
      undefined,
      options,
    );
    expect(pred[0]).toBeGreaterThan(plain[0] + 1);
    expect(pred[1]).toBeCloseTo(plain[1]);
  });

  it('clips to the declared scale of the data unless given a rating range', async () => {
    const m = new ItemBias();
    await m.fit({ ...explicitCtx, scale: [0.5, 4] });
    const [pred] = await m.predict([task('x', [], [r('g1', 4), r('b1', 2)])], explicitItems);
    expect(pred[0]).toBe(4);
    const fixed = new ItemBias([1, 5]);
    await fixed.fit({ ...explicitCtx, scale: [0.5, 4] });
    expect((await fixed.predict([task('x', [], [r('g1', 4)])], explicitItems))[0][0]).toBeGreaterThan(4.5);
  });

  it('user-item-bias shifts every candidate by the support residual and refuses implicit data', async () => {
    const m = new UserItemBias();
    await m.fit(explicitCtx);
    const candidates = ['b2', 'g3'];
    const [normal, harsh] = await m.rank(
      [task('n', [r('g1', 5), r('b1', 2)]), task('h', [r('g1', 4), r('b1', 1)])],
      candidates,
      explicitItems,
    );
    expect(order(candidates, harsh)).toEqual(['g3', 'b2']);
    expect(normal[0] - harsh[0]).toBeGreaterThan(0.5);
    expect(normal[0] - harsh[0]).toBeCloseTo(normal[1] - harsh[1]);
    await expect(new UserItemBias().fit(implicitCtx)).rejects.toThrow(/explicit ratings only/);
  });
});

// Item-kNN: X and Y are always played together; the others are popular but unrelated to X.
const knnItems = itemCatalog(['X', 'Y', 'P', 'Q', 'Z', 'N1', 'N2'].map((id) => ({ id, features: {} })));
const knnTrain = [
  task('a', [r('X'), r('Y')]),
  task('b', [r('X'), r('Y')]),
  task('c', [r('P'), r('Q')]),
  task('d', [r('P'), r('Q'), r('Z')]),
  task('e', [r('P'), r('Q'), r('Z')]),
  task('f', [r('P'), r('Z')]),
];
const knnCtx = context(knnTrain, [task('v', [r('X')], [r('Y')])], knnItems);

describe('item-knn', () => {
  it('ranks the item co-occurring with the support first, then the rest by popularity', async () => {
    const m = new ItemKnn();
    await m.fit(knnCtx);
    const candidates = ['P', 'Q', 'Z', 'Y'];
    const [s] = await m.rank([task('t', [r('X')])], candidates, knnItems);
    expect(order(candidates, s)).toEqual(['Y', 'P', 'Q', 'Z']);
    expect(s[3]).toBeCloseTo(1); // cosine: co-occurrence 2 / sqrt(2 * 2)
  });

  it('sums the similarities of every support item', async () => {
    const m = new ItemKnn();
    await m.fit(knnCtx);
    const candidates = ['Y', 'Q', 'Z'];
    // Q: P (cos 3/sqrt(4*3) = 0.87) + Z (2/sqrt(3*3) = 0.67); Z: P (3/sqrt(4*3)) only.
    const [s] = await m.rank([task('t', [r('P'), r('Z')])], candidates, knnItems);
    expect(s[1]).toBeCloseTo(3 / Math.sqrt(12) + 2 / 3, 4);
    expect(s[2]).toBeCloseTo(3 / Math.sqrt(12), 4);
    expect(order(candidates, s)[0]).toBe('Q');
  });

  it('learns new items similarities from item evidence of training users', async () => {
    const m = new ItemKnn();
    await m.fit(knnCtx);
    const candidates = ['N1', 'N2'];
    const itemEvidence = [ev('a', 'N2'), ev('b', 'N2'), ev('c', 'N1'), ev('d', 'N1')];
    const [plain] = await m.rank([task('t', [r('X')])], candidates, knnItems);
    expect(Array.from(plain)).toEqual([0, 0]);
    const [s] = await m.rank([task('t', [r('X')])], candidates, knnItems, { itemEvidence });
    expect(order(candidates, s)).toEqual(['N2', 'N1']); // X's players a and b played N2
  });

  it('predicts explicit ratings from the residuals of similar support items', async () => {
    const items = itemCatalog(['A', 'B', 'C', 'D'].map((id) => ({ id, features: {} })));
    // A and B are rated alike by everyone (high or low together); C and D are unrelated.
    const train = Array.from({ length: 8 }, (_, k) =>
      task(`u${k}`, [r('A', k % 2 ? 5 : 1), r('B', k % 2 ? 5 : 1), r(k < 4 ? 'C' : 'D', 3)]),
    );
    const validation = [task('v1', [r('A', 5)], [r('B', 5)]), task('v2', [r('A', 1)], [r('B', 1)])];
    const m = new ItemKnn();
    await m.fit(context(train, validation, items, 'explicit'));
    const [fan, hater] = await m.predict(
      [task('f', [r('A', 5)], [r('B', 3)]), task('h', [r('A', 1)], [r('B', 3)])],
      items,
    );
    expect(fan[0]).toBeGreaterThan(3.5);
    expect(hater[0]).toBeLessThan(2.5);
  });
});

describe('content-knn', () => {
  it('ranks an unseen item of the support genre first, and knows when the catalog has no content', async () => {
    const m = new ContentKnn();
    await m.fit(implicitCtx);
    const candidates = ['Jnew', 'Bare', 'Rnew'];
    const [s] = await m.rank([task('t', [r('R1'), r('R2')])], candidates, implicitItems);
    expect(order(candidates, s)[0]).toBe('Rnew');
    expect(s[2]).toBeCloseTo(2); // cosine 1 with both rock support items
    expect(s[0]).toBe(0);
    expect(ContentKnn.applicable(implicitItems.values())).toBe(true);
    expect(ContentKnn.applicable(knnItems.values())).toBe(false);
  });

  it('predicts explicit ratings of an unseen item from the support items of its genre', async () => {
    const m = new ContentKnn();
    await m.fit(explicitCtx);
    // This user, unlike everyone, loves the bad genre.
    const [pred] = await m.predict(
      [task('odd', [r('b1', 5), r('b2', 5), r('g1', 3)], [r('bNew', 5), r('gNew', 3)])],
      explicitItems,
    );
    const base = new UserItemBias();
    await base.fit(explicitCtx);
    const [plain] = await base.predict(
      [task('odd', [r('b1', 5), r('b2', 5), r('g1', 3)], [r('bNew', 5), r('gNew', 3)])],
      explicitItems,
    );
    expect(pred[0]).toBeGreaterThan(plain[0] + 0.5);
    expect(pred[1]).toBeLessThan(plain[1]);
  });
});

describe('validation (hyper-parameters are chosen on the warm validation users only)', () => {
  it('scores NDCG@20 over the warm items, support excluded, explicit relevance from the top 30% of the scale', async () => {
    const seen: { tasks: readonly Task[]; candidates: readonly string[] }[] = [];
    // Scores: the candidates' position in `preferred`, best first.
    const preferred = ['g1', 'b1', 'g2', 'b2', 'g3', 'b3'];
    const ranker = {
      rank: async (tasks: readonly Task[], candidates: readonly string[]) => {
        seen.push({ tasks, candidates });
        return tasks.map(() => Float32Array.from(candidates, (id) => -preferred.indexOf(id)));
      },
    };
    const validation = [
      // g1 excluded (support); ranking b1, g2, b2, g3, b3: relevant (>= 3.8) g2 at rank 2 -> 1/log2(3).
      task('v1', [r('g1', 5)], [r('g2', 4), r('b1', 3), r('gNew', 5)]),
      // no relevant query item among the candidates: skipped.
      task('v2', [r('g1', 5)], [r('b1', 2), r('gNew', 5)]),
    ];
    const ctx = context(explicitTrain, validation, explicitItems, 'explicit');
    expect(relevanceThreshold('explicit', [1, 5])).toBeCloseTo(3.8);
    expect(await validationRankingScore(ranker, ctx)).toBeCloseTo(1 / Math.log2(3));
    expect(seen).toHaveLength(1);
    expect(seen[0].tasks).toEqual(validation);
    expect(seen[0].candidates).toEqual(warmItemIds(explicitTrain)); // no unseen (cold) item
    expect(seen[0].candidates).not.toContain('gNew');
  });

  it('fit ranks only validation tasks over warm candidates', async () => {
    const m = new ItemKnn();
    const rank = jest.spyOn(m, 'rank');
    await m.fit(knnCtx);
    expect(rank).toHaveBeenCalled();
    for (const [tasks, candidates] of rank.mock.calls) {
      expect(tasks).toEqual(knnCtx.validation);
      expect([...candidates].sort()).toEqual(['P', 'Q', 'X', 'Y', 'Z']);
    }
  });

  it('picks the neighbourhood size that the validation users prefer', async () => {
    // Rock items R1-R8 are popular, pop items P1-P12 less so. A validation user's support holds 5
    // rock and 10 pop items: summing the 5 most similar support items ties rock and pop candidates
    // (popularity then puts rock first), summing 20 puts pop first.
    const rockItems = ids('R', 8);
    const popItems = ids('P', 12);
    const items = itemCatalog([...genreItems('rock', rockItems), ...genreItems('pop', popItems)]);
    const train = [
      ...ids('r', 10).map((u) =>
        task(
          u,
          rockItems.map((i) => r(i)),
        ),
      ),
      ...ids('p', 3).map((u) =>
        task(
          u,
          popItems.map((i) => r(i)),
        ),
      ),
    ];
    const support = [...rockItems.slice(0, 5), ...popItems.slice(0, 10)].map((i) => r(i));
    const wantsRock = [
      task(
        'v',
        support,
        ['R6', 'R7', 'R8'].map((i) => r(i)),
      ),
    ];
    const wantsPop = [
      task(
        'v',
        support,
        ['P11', 'P12'].map((i) => r(i)),
      ),
    ];
    const a = await new ContentKnn().fit(context(train, wantsRock, items));
    const b = await new ContentKnn().fit(context(train, wantsPop, items));
    expect(a.tuned).toEqual({ neighbours: 5 });
    expect(b.tuned).toEqual({ neighbours: 20 });
  });
});
