/**
 * The explicit validation objective: the query MAE averaged over the full support and each user's
 * first 1 and 3 ratings (the hidden-ID copies of cold-item validation cut the same way).
 */
import { initBackend } from '@warmstart/core';
import { parseConfig } from '../src/config/load';
import { buildModel } from '../src/learners/build-model';
import { validationMaeOf } from '../src/learners/tune-adapt';
import { VALIDATION_SHOTS, validationObjective } from '../src/learners/validation-score';
import { p2Dataset } from '@warmstart/evaluation/testing';
import { itemCatalog, type Task, validationSet } from '@warmstart/evaluation';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('the explicit validation objective', () => {
  it('averages the query MAE at full support and with each user cut to their first 1 and 3 ratings', async () => {
    const data = p2Dataset({ users: 40, items: 32, perUser: [8, 14], itemFeatures: true });
    const items = itemCatalog(data.items);
    const tasks: Task[] = data.users.map((user) => {
      const mine = data.ratings.filter((r) => r.userId === user.id);
      return { user, support: mine.slice(0, 5), query: mine.slice(5) };
    });
    const config = parseConfig({
      features: { user: [], item: [{ name: 'genre', kind: 'categorical' }] },
      model: { hidden: [8], embeddingDim: 4 },
    });
    const ctx = {
      train: tasks.slice(0, 30),
      validation: tasks.slice(30),
      items,
      kind: 'explicit' as const,
      scale: [1, 5] as [number, number],
    };
    const model = buildModel(
      config.features,
      { ...config.model, localGroups: ['output'] },
      data.users,
      data.items,
      ctx.train,
      0,
      { kind: 'explicit', scale: [1, 5] },
      { bayesHead: true },
    );
    const choice = { steps: 5, lr: 0.1, ridge: null };
    for (const coldItems of [false, true]) {
      const validation = validationSet(ctx.validation, items, coldItems);
      const cut = (k: number) =>
        validationSet(
          ctx.validation.map((t) => ({ ...t, support: t.support.slice(0, k) })),
          items,
          coldItems,
        );
      const views = [
        await validationMaeOf(model, validation, choice),
        ...(await Promise.all(VALIDATION_SHOTS.map((k) => validationMaeOf(model, cut(k), choice)))),
      ];
      // One rating predicts differently from five: the views are not the same number.
      expect(new Set(views.map((v) => v.toFixed(6))).size).toBeGreaterThan(1);
      const objective = validationObjective(model, validation, ctx);
      expect(await objective(choice)).toBeCloseTo(views.reduce((a, b) => a + b, 0) / views.length, 6);
    }
    model.dispose();
  });
});
