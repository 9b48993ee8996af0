/**
 * Item warm-up of a rating model with a ranker behind the ServingModel port: new items are warmed
 * for the ranker too (each rating an interaction of value 1, as the ranker adapts; where the model
 * sets a minimum, the ratings below it of value 0, core rankerEvidence), so Recommend's
 * order sees a new item's first interactions as the trainer's P2 evaluation does; the rows are
 * core's, on the calling thread and on the warm-up thread alike, and they change the ranking.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  adapt,
  initBackend,
  rankingSupport,
  score,
  setRankerEvidenceMin,
  warmUpItems,
} from '@warmstart/core';
import { CoreServingModel } from '../src/adapters/core-runtime';
import { WarmUpThread } from '../src/adapters/warmup-thread';
import { ITEMS, USERS, makeRankedModel } from './support/world';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const ref = { modelId: 'm', version: 1 };
/** The built worker script (the thread runs compiled code; the build is part of npm ci). */
const BUILT_WORKER = path.join(__dirname, '../dist/adapters/warmup-worker.js');
const catalog = new Map(ITEMS.map((i) => [i.id, i]));
/** Items i30..i39 have no ID row: new items. Two of them got interactions from users 0..5. */
const fresh = [ITEMS[30]!, ITEMS[31]!];
const requests = fresh.map((item, k) => ({
  item,
  interactions: USERS.slice(k * 3, k * 3 + 3).map((user) => ({ user, value: 5 - 3 * k })),
}));
const support = [
  { itemId: 'i0', value: 5 },
  { itemId: 'i2', value: 4 },
];

/**
 * The ranker's scores of `fresh` for a user with `support`, from core directly: warmed on every
 * rating as a positive interaction, or with `min` on the ratings of `min` or more as positives and
 * the others as negatives (value 0).
 */
function coreRanks(model: ReturnType<typeof makeRankedModel>, warm: boolean, min?: number): Float32Array {
  const ranker = model.ranker!;
  const asInteractions = requests.map((r) => ({
    ...r,
    interactions: r.interactions.map((x) => ({ ...x, value: min === undefined || x.value >= min ? 1 : 0 })),
  }));
  const rows = warm ? warmUpItems(ranker, asInteractions) : new Map<string, Float32Array>();
  const user = adapt(ranker, [{ user: USERS[9]!, support: rankingSupport(model, support) }], catalog, {
    warmItems: rows,
  });
  const items = ranker.encodeItems(fresh, { warmItems: rows });
  const out = score(user, 0, items);
  user.dispose();
  items.dispose();
  return out;
}

async function servedRanks(thread?: WarmUpThread, min?: number, prior?: number): Promise<Float32Array> {
  const ranked = makeRankedModel(1);
  if (min !== undefined) setRankerEvidenceMin(ranked, min);
  if (prior !== undefined) ranked.ranker!.itemWarmUp = { prior };
  const model = new CoreServingModel(ranked, ref, {}, thread);
  expect(await model.warmUpItems(requests)).toBe(2);
  const items = model.encodeItems(fresh);
  const [user] = model.adapt([{ user: USERS[9]!, support }], catalog);
  const out = user!.rank(items);
  user!.dispose();
  items.dispose();
  model.dispose();
  return out;
}

describe('warm-up of a ranked model in serving', () => {
  it('warms the ranker’s rows as core does, on either thread', async () => {
    const reference = makeRankedModel(1);
    const expected = coreRanks(reference, true);
    const without = coreRanks(reference, false);
    reference.dispose();
    // The warm-up matters (the served scores below are compared far tighter than this gap).
    expect(Math.max(...[0, 1].map((i) => Math.abs(expected[i]! - without[i]!)))).toBeGreaterThan(1e-4);
    const before = tf.memory().numTensors;
    const here = await servedRanks();
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < 2; i++) expect(here[i]).toBeCloseTo(expected[i]!, 6);
    if (!existsSync(BUILT_WORKER)) {
      console.warn(`${BUILT_WORKER} is not built (npm run build): the warm-up thread half is skipped`);
      return;
    }
    const thread = new WarmUpThread({ backend: 'cpu' }, BUILT_WORKER);
    try {
      const there = await servedRanks(thread);
      for (let i = 0; i < 2; i++) expect(there[i]).toBeCloseTo(expected[i]!, 6);
    } finally {
      await thread.close();
    }
  });

  it('with a ranker evidence minimum (core rankerEvidence), warms the ranker on liked ratings as positives, the rest as negatives', async () => {
    const reference = makeRankedModel(1);
    // fresh[0] was rated 5 three times (positives either way), fresh[1] 2 three times: negatives.
    const expected = coreRanks(reference, true, 4);
    const every = coreRanks(reference, true);
    const without = coreRanks(reference, false);
    reference.dispose();
    expect(expected[0]).toBeCloseTo(every[0]!, 6);
    expect(expected[1]).toBeLessThan(without[1]! - 1e-4);
    expect(every[1]).toBeGreaterThan(without[1]! + 1e-4);
    const here = await servedRanks(undefined, 4);
    for (let i = 0; i < 2; i++) expect(here[i]).toBeCloseTo(expected[i]!, 6);
  });

  it('warms the ranker with its own warm-up settings (core model.itemWarmUp), on either thread', async () => {
    const reference = makeRankedModel(1);
    const strong = coreRanks(reference, true);
    reference.ranker!.itemWarmUp = { prior: 5 };
    const expected = coreRanks(reference, true);
    reference.dispose();
    expect(Math.max(...[0, 1].map((i) => Math.abs(expected[i]! - strong[i]!)))).toBeGreaterThan(1e-4);
    const here = await servedRanks(undefined, undefined, 5);
    for (let i = 0; i < 2; i++) expect(here[i]).toBeCloseTo(expected[i]!, 6);
    if (!existsSync(BUILT_WORKER)) return; // warned above
    const thread = new WarmUpThread({ backend: 'cpu' }, BUILT_WORKER);
    try {
      const there = await servedRanks(thread, undefined, 5);
      for (let i = 0; i < 2; i++) expect(there[i]).toBeCloseTo(expected[i]!, 6);
    } finally {
      await thread.close();
    }
  });
});
