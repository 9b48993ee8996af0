/**
 * The validation objective of the networks' choices: on implicit data minus the NDCG@20 of
 * full-catalog ranking, on explicit data the query MAE (the hidden-ID copies of cold-item
 * validation included), each averaged over the full support and each user's first 1 and 3
 * interactions or ratings.
 */
import { initBackend } from '@warmstart/core';
import { parseConfig } from '../src/config/load';
import { prepareStart } from '../src/learners/als-embeddings';
import { buildModel } from '../src/learners/build-model';
import { rankTasks } from '../src/learners/rank-tasks';
import { validationMaeOf } from '../src/learners/tune-adapt';
import { VALIDATION_SHOTS, validationObjective } from '../src/learners/validation-score';
import { p2Dataset } from '@warmstart/evaluation/testing';
import { itemCatalog, type Task, validationRankingScore, validationSet } from '@warmstart/evaluation';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const choice = { steps: 5, lr: 0.1, ridge: null };

/** 40 users of p2Dataset, 30 for training and 10 for validation, and a Bayesian-head model of them. */
function world(kind: 'explicit' | 'implicit') {
  const implicit = kind === 'implicit';
  const data = implicit
    ? p2Dataset({ kind: 'implicit', users: 40, items: 32, perUser: [6, 12] })
    : p2Dataset({ users: 40, items: 32, perUser: [8, 14], itemFeatures: true });
  const items = itemCatalog(data.items);
  const tasks: Task[] = data.users.map((user) => {
    const mine = data.ratings
      .filter((r) => r.userId === user.id)
      .map((r) => (implicit ? { itemId: r.itemId, value: 1 } : r));
    const cut = implicit ? 4 : 5;
    return { user, support: mine.slice(0, cut), query: mine.slice(cut) };
  });
  const config = parseConfig({
    features: { user: [], item: implicit ? [] : [{ name: 'genre', kind: 'categorical' }] },
    model: { hidden: implicit ? [16, 16] : [8], embeddingDim: 4 },
  });
  const scale: [number, number] = implicit ? [0, 1] : [1, 5];
  const ctx = {
    train: tasks.slice(0, 30),
    validation: tasks.slice(30),
    items,
    users: data.users,
    seed: 0,
    kind,
    scale,
  };
  const model = buildModel(
    config.features,
    { ...config.model, localGroups: ['output'] },
    data.users,
    data.items,
    ctx.train,
    0,
    { kind, scale },
    { bayesHead: true },
  );
  if (implicit) prepareStart(model, config.model, ctx);
  return { ctx, model };
}

/** `tasks` with each support cut to its first `k` entries (all of it without k). */
const firstK = (tasks: readonly Task[], k?: number) =>
  tasks.map((t) => (k ? { ...t, support: t.support.slice(0, k) } : t));

/** The figure at full support, then at each of VALIDATION_SHOTS; checks they differ. */
async function views(at: (k?: number) => Promise<number>): Promise<number[]> {
  const v = [await at(), ...(await Promise.all(VALIDATION_SHOTS.map((k) => at(k))))];
  expect(VALIDATION_SHOTS).toEqual([1, 3]);
  // The cut supports score differently from the full ones: the views are not the same number.
  expect(new Set(v.map((x) => x.toFixed(6))).size).toBeGreaterThan(1);
  return v;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

describe('the validation objective', () => {
  it('implicit: minus NDCG@20 averaged at full support and at each user’s first 1 and 3 interactions', async () => {
    const { ctx, model } = world('implicit');
    const ranker = {
      rank: (t: readonly Task[], candidates: readonly string[]) =>
        rankTasks(model, t, candidates, ctx.items, choice),
    };
    const ndcg = await views((k) =>
      validationRankingScore(ranker, { ...ctx, validation: firstK(ctx.validation, k) }),
    );
    const objective = validationObjective(model, validationSet(ctx.validation, ctx.items, false), ctx);
    expect(await objective(choice)).toBeCloseTo(-mean(ndcg), 6);
    model.dispose();
  });

  it('explicit: the query MAE averaged at full support and at each user’s first 1 and 3 ratings', async () => {
    const { ctx, model } = world('explicit');
    for (const coldItems of [false, true]) {
      const mae = await views((k) =>
        validationMaeOf(model, validationSet(firstK(ctx.validation, k), ctx.items, coldItems), choice),
      );
      const objective = validationObjective(model, validationSet(ctx.validation, ctx.items, coldItems), ctx);
      expect(await objective(choice)).toBeCloseTo(mean(mae), 6);
    }
    model.dispose();
  });
});
