/**
 * The trainer's keys for core's Bayesian last layer, variable support sizes and empirical-Bayes
 * item biases: defaults (all off: the trainer's default config is unchanged), learner overrides,
 * validation, and a learner fitted with them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend, loadModel, type RecommenderModel } from '@warmstart/core';
import { parseConfig } from '../src/config/load';
import { learnerSettings } from '../src/eval/methods';
import { MetaLearner } from '../src/learners/meta-learner';
import { p2Dataset } from '@warmstart/evaluation/testing';
import { runCli, syntheticImportArgs } from './support/run-cli';
import { itemEmbeddingStart } from '../src/learners/als-embeddings';
import { itemCatalog, type Task } from '@warmstart/evaluation';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('train.bayesHead, train.bayesLoss, train.supportSizes, model.itemBiasShrinkage', () => {
  it('default to auto: the Bayesian head with mixed support sizes on either kind (the catalog fold-in on implicit data)', () => {
    const c = parseConfig({});
    expect([c.train.bayesHead, c.train.bayesLoss, c.train.supportSizes]).toEqual(['auto', 'nll', 'auto']);
    expect(c.model.itemBiasShrinkage).toBe(5);
    expect(c.train.innerRidge).toBe(10);
    const anil = { name: 'anil', algorithm: 'anil' as const };
    const explicit = learnerSettings(c, anil, 'explicit');
    expect([explicit.bayesHead, explicit.supportSizes, explicit.innerRidge]).toEqual([true, 'mixed', null]);
    const implicit = learnerSettings(c, anil, 'implicit');
    expect([implicit.bayesHead, implicit.supportSizes, implicit.innerRidge]).toEqual([true, 'mixed', null]);
    expect([c.model.initItemEmbeddings, itemEmbeddingStart(c.model, 'implicit')]).toEqual(['auto', 'als']);
    expect(itemEmbeddingStart(c.model, 'explicit')).toBe('none');
    expect([c.train.epochs, explicit.epochs, implicit.epochs]).toEqual(['auto', 6, 15]);
    expect(learnerSettings(parseConfig({ train: { epochs: 3 } }), anil, 'implicit').epochs).toBe(3);
    // The default learners: anil-ridge and anil-bayes stay what their names say on either kind.
    for (const kind of ['explicit', 'implicit'] as const) {
      const byName = new Map(c.evaluate.learners.map((l) => [l.name, learnerSettings(c, l, kind)]));
      expect(byName.get('anil-ridge')!.bayesHead).toBe(false);
      // anil adapts by gradient steps (no closed-form head of either kind).
      expect([byName.get('anil')!.bayesHead, byName.get('anil')!.innerRidge]).toEqual([false, null]);
      expect(byName.get('anil-bayes')!.bayesHead).toBe(true);
      expect(byName.get('melu')!.bayesHead).toBe(false);
    }
  });

  it('replace the ridge head for the learners that use them, and are validated', () => {
    const c = parseConfig({
      model: { itemBiasShrinkage: 'empirical-bayes' },
      evaluate: {
        learners: [
          { name: 'ridge', algorithm: 'anil', bayesHead: false },
          {
            name: 'bayes',
            algorithm: 'anil',
            bayesHead: true,
            supportSizes: 'log-uniform',
            bayesLoss: 'mse',
          },
        ],
      },
    });
    const [ridge, bayes] = c.evaluate.learners.map((l) => learnerSettings(c, l));
    expect([ridge.bayesHead, ridge.innerRidge, ridge.adapt.ridge]).toEqual([false, 10, null]);
    expect([bayes.bayesHead, bayes.innerRidge, bayes.adapt.ridge]).toEqual([true, null, null]);
    expect([bayes.supportSizes, bayes.bayesLoss]).toEqual(['log-uniform', 'mse']);
    expect(bayes.model.itemBiasShrinkage).toBe('empirical-bayes');
    // The shared key applies to head-only learners only (as the shared ridge penalty does).
    const shared = parseConfig({
      train: { bayesHead: true },
      evaluate: {
        learners: [
          { name: 'anil', algorithm: 'anil' },
          { name: 'melu', algorithm: 'melu' },
          { name: 'fomaml', algorithm: 'fomaml' },
        ],
      },
    });
    const [anil, melu, fomaml] = shared.evaluate.learners.map((l) => learnerSettings(shared, l));
    expect([anil.bayesHead, anil.innerRidge]).toEqual([true, null]);
    expect([melu.bayesHead, fomaml.bayesHead]).toEqual([false, false]);
    expect(() => parseConfig({ train: { supportSizes: 'some' } })).toThrow(/train\.supportSizes/);
    expect(() => parseConfig({ train: { bayesLoss: 'l1' } })).toThrow(/train\.bayesLoss/);
    expect(() => parseConfig({ model: { itemBiasShrinkage: 'eb' } })).toThrow(/model\.itemBiasShrinkage/);
  });

  it('fit a learner with the Bayesian head on variable support sizes', async () => {
    const data = p2Dataset({ users: 40, items: 32, perUser: [8, 14], itemFeatures: true });
    const items = itemCatalog(data.items);
    const tasks: Task[] = data.users.map((user) => {
      const mine = data.ratings
        .filter((r) => r.userId === user.id)
        .map((r) => ({ itemId: r.itemId, value: r.value }));
      return { user, support: mine.slice(0, 5), query: mine.slice(5) };
    });
    const c = parseConfig({
      features: { user: [], item: [{ name: 'genre', kind: 'categorical' }] },
      model: { hidden: [8], embeddingDim: 4, itemBiasShrinkage: 'empirical-bayes' },
      train: { epochs: 2, patience: 1, metaBatchSize: 8, bayesHead: true, supportSizes: 'uniform' },
      evaluate: { learners: [{ name: 'bayes', algorithm: 'anil' }] },
    });
    const learner = new MetaLearner(learnerSettings(c, c.evaluate.learners[0]), c.features);
    const fit = await learner.fit({
      train: tasks.slice(0, 32),
      validation: tasks.slice(32),
      items,
      users: data.users,
      seed: 0,
      kind: 'explicit',
      scale: [1, 5],
    });
    const model = (learner as unknown as { model: RecommenderModel }).model;
    expect(model.config.bayesHead).toBe(true);
    expect(model.training?.supportSizes).toBe('uniform');
    expect(fit.tuned?.ridge).toBeNull(); // no adaptation grid: the posterior has no knobs
    const predictions = await learner.predict(tasks.slice(32), items);
    expect(
      predictions.every((p, i) => p.length === tasks[32 + i].query.length && p.every(Number.isFinite)),
    ).toBe(true);
    learner.dispose();
  });

  it('train writes the Bayesian head into the artifact, so serving adapts the same way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bayes-train-'));
    try {
      const database = join(dir, 'w.db');
      const artifacts = join(dir, 'models');
      const config = join(dir, 'bayes.yaml');
      writeFileSync(
        config,
        [
          'model: { embeddingDim: 4, hidden: [8] }',
          'train: { epochs: 2, metaBatchSize: 16, maxRatings: 30, bayesHead: true, supportSizes: mixed }',
        ].join('\n'),
      );
      await runCli(syntheticImportArgs(database));
      const out = await runCli([
        'train',
        '--config',
        config,
        '--database',
        database,
        '--artifacts',
        artifacts,
      ]);
      const modelId = /registered (m-\S+) /.exec(out)![1];
      const model = await loadModel(join(artifacts, modelId));
      expect(model.config.bayesHead).toBe(true);
      expect(model.config.localGroups).toEqual(['output']);
      expect(model.adaptDefaults.ridge ?? null).toBeNull();
      expect(model.training?.supportSizes).toBe('mixed');
      expect(model.params['prior.logPrec'].size).toBe(9);
      model.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
