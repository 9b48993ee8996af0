/**
 * New items folded in behind the ServingModel port: a model whose artifact carries a user base
 * (core `foldInBase`) folds new items in from the interacting users' histories, with core's rows
 * (foldInItemsFromHistories) on the calling thread and on the warm-up thread alike; without the
 * histories, or without a user base, it warms them up as before.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { adapt, foldInItemsFromHistories, initBackend, score, warmUpItems } from '@warmstart/core';
import { CoreServingModel } from '../src/adapters/core-runtime';
import { WarmUpThread } from '../src/adapters/warmup-thread';
import { HISTORIES, ITEMS, USERS, makeFoldInModel } from './support/world';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const ref = { modelId: 'm', version: 1 };
const BUILT_WORKER = path.join(__dirname, '../dist/adapters/warmup-worker.js');
const catalog = new Map(ITEMS.map((i) => [i.id, i]));
/** Items i30..i39 have no ID row: new items. Two of them got interactions from users 0..5. */
const fresh = [ITEMS[30]!, ITEMS[31]!];
const requests = fresh.map((item, k) => ({
  item,
  interactions: USERS.slice(k * 3, k * 3 + 3).map((user) => ({ user, value: 1 })),
}));
const histories = {
  histories: new Map(HISTORIES.map((h) => [h.user.id, h.support])),
  items: catalog,
};
const support = [{ itemId: 'i0', value: 1 }];

/** Scores of `fresh` for user 9 with `rows` for the new items, from core directly. */
function coreScores(rows: Map<string, Float32Array>): Float32Array {
  const model = makeFoldInModel(1);
  const user = adapt(model, [{ user: USERS[9]!, support }], catalog, { warmItems: rows });
  const items = model.encodeItems(fresh, { warmItems: rows });
  const out = score(user, 0, items);
  user.dispose();
  items.dispose();
  model.dispose();
  return out;
}

async function servedScores(withHistories: boolean, thread?: WarmUpThread): Promise<Float32Array> {
  const model = new CoreServingModel(makeFoldInModel(1), ref, {}, thread);
  expect(model.foldsItems).toBe(true);
  expect(await model.warmUpItems(requests, withHistories ? histories : undefined)).toBe(2);
  const items = model.encodeItems(fresh);
  const [user] = model.adapt([{ user: USERS[9]!, support }], catalog);
  const out = user!.rank(items);
  user!.dispose();
  items.dispose();
  model.dispose();
  return out;
}

describe('item fold-in in serving', () => {
  it('folds new items in as core does, on either thread, and warms them up without histories', async () => {
    const reference = makeFoldInModel(1);
    const folded = foldInItemsFromHistories(
      reference,
      requests.map((r) => ({
        item: r.item,
        users: r.interactions.map((x) => ({ user: x.user, history: histories.histories.get(x.user.id)! })),
      })),
      catalog,
    );
    const warmed = warmUpItems(reference, requests);
    reference.dispose();
    const expected = coreScores(folded);
    const warmExpected = coreScores(warmed);
    // The two ways differ (the served scores below are compared far tighter than this gap).
    expect(Math.max(...[0, 1].map((i) => Math.abs(expected[i]! - warmExpected[i]!)))).toBeGreaterThan(1e-4);
    const before = tf.memory().numTensors;
    const here = await servedScores(true);
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < 2; i++) expect(here[i]).toBeCloseTo(expected[i]!, 5);
    const noHistories = await servedScores(false);
    for (let i = 0; i < 2; i++) expect(noHistories[i]).toBeCloseTo(warmExpected[i]!, 5);
    if (!existsSync(BUILT_WORKER)) {
      console.warn(`${BUILT_WORKER} is not built (npm run build): the warm-up thread half is skipped`);
      return;
    }
    const thread = new WarmUpThread({ backend: 'cpu' }, BUILT_WORKER);
    try {
      const there = await servedScores(true, thread);
      for (let i = 0; i < 2; i++) expect(there[i]).toBeCloseTo(expected[i]!, 5);
    } finally {
      await thread.close();
    }
  });

  it('does not fold without a user base', () => {
    const inner = makeFoldInModel(1);
    inner.foldInBase = null;
    const model = new CoreServingModel(inner, ref, {});
    expect(model.foldsItems).toBe(false);
    expect(model.warmsItems).toBe(true);
    model.dispose();
  });
});
