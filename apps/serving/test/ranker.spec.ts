/**
 * A rating model with a ranker (core attachRanker) behind the ServingModel port: `rank` is the
 * ranker's score of the support as interactions, `score` stays the predicted rating, batched and
 * gathered sets agree with per-user calls, and nothing leaks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adapt, initBackend, rankingSupport, score } from '@warmstart/core';
import { CoreServingModel } from '../src/adapters/core-runtime';
import { ITEMS, USERS, makeModel, makeRankedModel } from './support/world';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const ref = { modelId: 'm', version: 1 };
const catalog = new Map(ITEMS.map((i) => [i.id, i]));
const support = [
  { itemId: 'i3', value: 5 },
  { itemId: 'i8', value: 1 },
  { itemId: 'i21', value: 4 },
];

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs((a[i] as number) - (b[i] as number))).toBeLessThan(1e-5);
}

describe('serving a rating model with a ranker', () => {
  it('ranks by the ranker and scores by the rating model, batched or not, selected or not', () => {
    const before = tf.memory().numTensors;
    const model = new CoreServingModel(makeRankedModel(1), ref, {});
    expect(model.ranks).toBe(true);
    const items = model.encodeItems(ITEMS);
    const [user, other] = model.adapt(
      [
        { user: USERS[0]!, support },
        { user: USERS[1]!, support: support.slice(1) },
      ],
      catalog,
    );
    // The ranker's scores, computed with core directly on the support as interactions.
    const core = model.model;
    const ranker = core.ranker!;
    const direct = adapt(ranker, [{ user: USERS[0]!, support: rankingSupport(core, support) }], catalog);
    const rankerItems = ranker.encodeItems(ITEMS);
    const expected = score(direct, 0, rankerItems);
    direct.dispose();
    rankerItems.dispose();
    const ranked = user!.rank(items);
    expectClose(ranked, expected);
    const rated = user!.score(items);
    expect(Array.from(rated)).not.toEqual(Array.from(ranked));
    for (const v of rated) expect(v >= 1 && v <= 5).toBe(true);
    // Batched equals per user, for both kinds of score.
    const [r0, r1] = model.rankMany([user!, other!], items);
    expectClose(r0!, ranked);
    expectClose(r1!, other!.rank(items));
    expectClose(model.scoreMany([user!], items)[0]!, rated);
    // A gathered subset keeps both encodings, row for row.
    const rows = [7, 2, 31];
    const picked = model.selectItems(rows.map((row) => ({ source: items, row })));
    expectClose(
      user!.rank(picked),
      rows.map((r) => ranked[r]!),
    );
    expectClose(
      user!.score(picked),
      rows.map((r) => rated[r]!),
    );
    // A detached user keeps its ranking state.
    const detached = user!.detach();
    expectClose(detached.rank(items), ranked);
    expect(detached.bytes).toBeGreaterThan(0);
    for (const u of [detached, user!, other!]) u.dispose();
    picked.dispose();
    items.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('without a ranker, rank is score', () => {
    const model = new CoreServingModel(makeModel(2, ['output']), ref, {});
    expect(model.ranks).toBe(false);
    const items = model.encodeItems(ITEMS);
    const [user] = model.adapt([{ user: USERS[0]!, support }], catalog);
    expect(Array.from(user!.rank(items))).toEqual(Array.from(user!.score(items)));
    expect(Array.from(model.rankMany([user!], items)[0]!)).toEqual(
      Array.from(model.scoreMany([user!], items)[0]!),
    );
    user!.dispose();
    items.dispose();
    model.dispose();
  });
});
