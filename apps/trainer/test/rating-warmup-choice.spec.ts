/**
 * The rating model's new-item warm-up (learners/rating-warmup-choice.ts): the pull of a new
 * item's ID bias towards its generated start, chosen by MAE on pseudo-new items whose evidence is
 * the training users' ratings. Items here have no content and a level everyone agrees on (even
 * items 5, odd 1), so a new item's first ratings tell its level exactly and a weaker pull must
 * predict the validation users' ratings of it better.
 */
import { createModel, FeatureSpec, initBackend, type RecommenderModel } from '@warmstart/core';
import { chooseRatingWarmUp, RATING_BIAS_PRIORS } from '../src/learners/rating-warmup-choice';
import { items, tasks } from './support/good-and-poor-items';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const train = tasks('t', 60, 0);
const validation = tasks('v', 30, 1);
const users = new Map([...train, ...validation].map((t) => [t.user.id, t.user]));

/** An untrained rating model with an ID row per item and nothing else to tell items apart. */
function model(): RecommenderModel {
  const spec = FeatureSpec.fromData({ user: [], item: [] }, [], []);
  return createModel(spec, {
    embeddingDim: 2,
    hidden: [4],
    seed: 1,
    idEmbeddings: { itemIds: [...items.keys()], dim: 2 },
  });
}

const ctx = (kind: 'explicit' | 'implicit', validationTasks = validation) => ({
  train,
  validation: validationTasks,
  items,
  seed: 0,
  kind,
  users,
  adaptOptions: { steps: 0 },
});

describe('chooseRatingWarmUp', () => {
  it('scores every bias prior by validation MAE and keeps the first lowest; a weaker pull wins here', async () => {
    const m = model();
    try {
      const choice = (await chooseRatingWarmUp(m, ctx('explicit')))!;
      const byValue = (a: number, b: number) => a - b;
      expect(Object.keys(choice.scores).map(Number).sort(byValue)).toEqual(
        [...RATING_BIAS_PRIORS].sort(byValue),
      );
      const lowest = RATING_BIAS_PRIORS.reduce((b, p) =>
        choice.scores[String(p)]! < choice.scores[String(b)]! ? p : b,
      );
      expect(choice.biasPrior).toBe(lowest);
      // The items' levels are in their ratings alone: the weakest pull predicts them best.
      expect(choice.scores['1']).toBeLessThan(choice.scores[String(RATING_BIAS_PRIORS[0])]!);
      expect(choice.biasPrior).not.toBe(RATING_BIAS_PRIORS[0]);
      expect(choice.tasks).toBeGreaterThanOrEqual(20);
      expect(choice.items).toBeGreaterThan(0);
      // Choosing does not set the model's warm-up (resolveNewItems does).
      expect(m.itemWarmUp).toEqual({});
    } finally {
      m.dispose();
    }
  });

  it('is null for implicit data and with too few validation tasks', async () => {
    const m = model();
    try {
      expect(await chooseRatingWarmUp(m, ctx('implicit'))).toBeNull();
      expect(await chooseRatingWarmUp(m, ctx('explicit', validation.slice(0, 5)))).toBeNull();
    } finally {
      m.dispose();
    }
  });
});
