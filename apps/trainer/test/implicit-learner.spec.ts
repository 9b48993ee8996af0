/**
 * Implicit feedback in the trainer: `train.negatives` (config and learner overrides), and a meta-learner
 * fitted on implicit data is core's implicit ranking model with sampled negatives (pool included),
 * whose `rank` scores each user after adapting on their positives.
 */
import { initBackend, initItemBiases } from '@warmstart/core';
import { parseConfig } from '../src/config/load';
import { learnerSettings } from '../src/eval/methods';
import { buildModel } from '../src/learners/build-model';
import { MetaLearner } from '../src/learners/meta-learner';
import {
  EVIDENCE_GROWTHS,
  initEmbeddingsFromAls,
  LIFT_SCALES,
  prepareStart,
  tuneAlsStart,
} from '../src/learners/als-embeddings';
import { p2Dataset } from '@warmstart/evaluation/testing';
import { itemCatalog, type Task } from '@warmstart/evaluation';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('train.negatives', () => {
  it('defaults to 4 per positive by popularity, can be overridden per learner, and is validated', () => {
    const c = parseConfig({
      evaluate: {
        learners: [{ name: 'a' }, { name: 'b', negatives: { perPositive: 2, distribution: 'uniform' } }],
      },
    });
    expect(c.train.negatives).toEqual({ perPositive: 4, distribution: 'popularity' });
    const [a, b] = c.evaluate.learners.map((l) => learnerSettings(c, l));
    expect(a.negatives).toEqual({ perPositive: 4, distribution: 'popularity' });
    expect(b.negatives).toEqual({ perPositive: 2, distribution: 'uniform' });
    expect(() => parseConfig({ train: { negatives: { perPositive: 0, distribution: 'uniform' } } })).toThrow(
      /train\.negatives\.perPositive/,
    );
    expect(() => parseConfig({ train: { negatives: { perPositive: 2, distribution: 'zipf' } } })).toThrow(
      /train\.negatives\.distribution/,
    );
  });
});

/** 40 users' positives over 32 items: each user's first 4 as support, the rest as query. */
function implicitWorld() {
  const data = p2Dataset({ kind: 'implicit', users: 40, items: 32, perUser: [6, 12] });
  const tasks: Task[] = data.users.map((user) => {
    const mine = data.ratings
      .filter((r) => r.userId === user.id)
      .map((r) => ({ itemId: r.itemId, value: 1 }));
    return { user, support: mine.slice(0, 4), query: mine.slice(4) };
  });
  return { data, items: itemCatalog(data.items), tasks };
}

describe('a meta-learner on implicit data', () => {
  const { data, items, tasks } = implicitWorld();

  it('builds core’s ranking model with the configured negatives and ranks with raw scores', async () => {
    const config = parseConfig({
      features: { user: [], item: [] },
      model: { hidden: [8], embeddingDim: 4 },
      train: {
        epochs: 2,
        patience: 0,
        metaBatchSize: 8,
        negatives: { perPositive: 3, distribution: 'uniform' },
      },
      evaluate: { tuneAdapt: false, learners: [{ name: 'anil', algorithm: 'anil', innerRidge: 3 }] },
    });
    const settings = learnerSettings(config, config.evaluate.learners[0], 'implicit');
    const model = buildModel(config.features, settings.model, data.users, data.items, tasks, 0, {
      kind: 'implicit',
      scale: [0, 1],
      negatives: settings.negatives,
    });
    expect(model.config.task).toBe('implicit');
    expect(model.config.negatives).toEqual({ perPositive: 3, distribution: 'uniform' });
    expect(model.config.userBiasShrinkage).toBeNull();
    model.dispose();

    const learner = new MetaLearner(settings, config.features);
    await learner.fit({
      train: tasks.slice(0, 32),
      validation: tasks.slice(32),
      items,
      users: data.users,
      seed: 0,
      kind: 'implicit',
      scale: [0, 1],
    });
    const scores = await learner.rank(
      tasks.slice(32, 34),
      data.items.map((i) => i.id),
      items,
    );
    expect(scores).toHaveLength(2);
    expect(scores[0]).toHaveLength(data.items.length);
    expect(scores[0].every(Number.isFinite)).toBe(true);
    // Each user's head is fitted to their own positives (the default head: the catalog fold-in).
    expect(Math.max(...scores[0].map((v, i) => Math.abs(v - scores[1][i])))).toBeGreaterThan(1e-4);
    learner.dispose();
  });
});

describe('the ALS start of an implicit model (model.initItemEmbeddings)', () => {
  const { data, items, tasks } = implicitWorld();
  const config = parseConfig({
    features: { user: [], item: [] },
    model: { hidden: [16, 16], embeddingDim: 4 },
  });

  const start = (kind: 'implicit' | 'explicit', seed: number) => ({
    train: tasks,
    validation: [],
    items,
    users: data.users,
    seed,
    kind,
    scale: [0, 1] as [number, number],
  });

  function foldInModel() {
    return buildModel(
      config.features,
      { ...config.model, localGroups: ['output'] },
      data.users,
      data.items,
      tasks,
      0,
      { kind: 'implicit', scale: [0, 1] },
      { bayesHead: true },
    );
  }

  it('sets every warm item’s embedding to unit-RMS ALS factors, the fold-in to ALS’s, and builds the pool', async () => {
    const model = foldInModel();
    expect(model.config.catalogFoldIn).toBe(true);
    const before = model.params['id.item'].dataSync().slice();
    prepareStart(model, config.model, start('implicit', 0));
    const table = model.params['id.item'];
    const width = table.shape[1]!;
    const values = table.dataSync();
    let sq = 0;
    let n = 0;
    for (const [, row] of model.itemIdIndex) {
      for (let j = 0; j < width - 1; j++) {
        sq += values[row * width + j] ** 2;
        n++;
      }
    }
    expect(Math.sqrt(sq / n)).toBeCloseTo(1, 3);
    expect(values).not.toEqual(before);
    // alsFoldInStart: w = N / alpha with ALS_START's alpha 10.
    const warm = new Set(tasks.flatMap((t) => [...t.support, ...t.query].map((r) => r.itemId))).size;
    expect(Math.exp(model.params['prior.logCatalog'].dataSync()[0])).toBeCloseTo(warm / 10, 3);
    expect(model.negativePool?.size).toBe(warm);
    model.dispose();
  });

  it('tuneAlsStart keeps the confidence the score prefers, leaving the model at that start', async () => {
    const warm = new Set(tasks.flatMap((t) => [...t.support, ...t.query].map((r) => r.itemId))).size;
    const catalogWeight = (m: ReturnType<typeof foldInModel>) =>
      Math.exp(m.params['prior.logCatalog'].dataSync()[0]);
    // A score that prefers alpha = 30 (the fold-in's catalog weight is N / alpha), so it must move.
    const model = foldInModel();
    prepareStart(model, config.model, start('implicit', 0));
    const tried: number[] = [];
    const score = async () => {
      const alpha = warm / catalogWeight(model);
      tried.push(Math.round(alpha));
      return Math.abs(alpha - 30);
    };
    const chosen = await tuneAlsStart(model, config.model, start('implicit', 0), score);
    // The three confidences at each evidence growth, the chosen one at each smaller lift and
    // growth, then without item biases (ties: the first growth, lift 1 and the biases stay).
    const growths = EVIDENCE_GROWTHS.length;
    expect(tried).toEqual([
      ...Array(growths).fill(10),
      ...Array(growths).fill(3),
      ...Array(growths * (1 + LIFT_SCALES.length) + 1).fill(30),
    ]);
    expect(chosen?.alpha).toBe(30);
    expect(chosen?.itemBiases).toBe(true);
    expect(chosen?.evidenceGrowth).toBe(0);
    expect(Object.keys(chosen!.scores)).toContain('30 without item biases');
    expect(Object.keys(chosen!.scores)).toContain(`3, growth ${EVIDENCE_GROWTHS[1]}`);
    expect(catalogWeight(model)).toBeCloseTo(warm / 30, 3);
    // The same start as building it at alpha 30 directly: the embeddings match.
    const direct = foldInModel();
    initEmbeddingsFromAls(direct, tasks, 0, { reg: 10, alpha: 30 });
    expect(Array.from(model.params['id.item'].dataSync())).toEqual(
      Array.from(direct.params['id.item'].dataSync()),
    );
    // From a fresh default start, a score preferring it re-applies it after trying the others.
    prepareStart(model, config.model, start('implicit', 0));
    const back = await tuneAlsStart(model, config.model, start('implicit', 0), async () =>
      Math.abs(warm / catalogWeight(model) - 10),
    );
    expect(back?.alpha).toBe(10);
    expect(catalogWeight(model)).toBeCloseTo(warm / 10, 3);
    // Without the ALS start there is nothing to tune.
    expect(
      await tuneAlsStart(model, { ...config.model, initItemEmbeddings: 'none' }, start('implicit', 0), score),
    ).toBeNull();
    model.dispose();
    direct.dispose();
  });

  it('tuneAlsStart chooses the evidence growth with the confidence and sets it as the model’s default', async () => {
    const warm = new Set(tasks.flatMap((t) => [...t.support, ...t.query].map((r) => r.itemId))).size;
    const model = foldInModel();
    await initItemBiases(model, tasks, { items });
    prepareStart(model, config.model, start('implicit', 0));
    const alpha = () => Math.round(warm / Math.exp(model.params['prior.logCatalog'].dataSync()[0]));
    // Prefers growth 1 at confidence 3; every other point, and the start without biases, scores worse.
    const growth = () => model.adaptDefaults.evidenceGrowth ?? 0;
    const score = async () => Math.abs(alpha() - 3) + Math.abs(growth() - 1);
    const chosen = await tuneAlsStart(model, config.model, start('implicit', 0), score);
    expect(chosen).toMatchObject({ alpha: 3, evidenceGrowth: 1, itemBiases: true });
    expect(model.adaptDefaults.evidenceGrowth).toBe(1);
    expect(alpha()).toBe(3);
    // Growth 1 best among the starts with biases, the start without them better still: the growth
    // goes back to 0 (without biases it cannot change a ranking).
    const t = model.params['id.item'];
    const biasSum = () => {
      const w = t.shape[1]!;
      return Array.from(model.params['id.item'].dataSync()).reduce(
        (a, v, k) => a + (k % w === w - 1 ? v : 0),
        0,
      );
    };
    expect(biasSum()).toBeGreaterThan(0.01);
    prepareStart(model, config.model, start('implicit', 0));
    const none = await tuneAlsStart(
      model,
      config.model,
      start('implicit', 0),
      async () => biasSum() + 0.001 * Math.abs(growth() - 1),
    );
    expect(none).toMatchObject({ itemBiases: false, evidenceGrowth: 0 });
    expect(model.adaptDefaults.evidenceGrowth).toBe(0);
    model.dispose();
  });

  it('tuneAlsStart tries smaller lifts at the chosen confidence and leaves the model at the best', async () => {
    const model = foldInModel();
    await initItemBiases(model, tasks, { items });
    prepareStart(model, config.model, start('implicit', 0));
    const lift = () => Math.exp(model.params['prior.logLift'].dataSync()[0]);
    const growth = () => model.adaptDefaults.evidenceGrowth ?? 0;
    const base = lift(); // ALS_START's confidence 10: (1 + 10) / 10
    expect(base).toBeCloseTo(1.1, 4);
    // Prefers confidence 10's lift scaled by the smallest scale, with growth 3.
    const target = LIFT_SCALES[LIFT_SCALES.length - 1];
    const warm = new Set(tasks.flatMap((t) => [...t.support, ...t.query].map((r) => r.itemId))).size;
    const alpha = () => Math.round(warm / Math.exp(model.params['prior.logCatalog'].dataSync()[0]));
    const score = async () =>
      Math.abs(alpha() - 10) + Math.abs(lift() / ((1 + alpha()) / alpha()) - target) + Math.abs(growth() - 3);
    const chosen = await tuneAlsStart(model, config.model, start('implicit', 0), score);
    expect(chosen).toMatchObject({ alpha: 10, evidenceGrowth: 3, liftScale: target, itemBiases: true });
    expect(lift()).toBeCloseTo(base * target, 4);
    expect(growth()).toBe(3);
    expect(Object.keys(chosen!.scores)).toContain(`10, growth 3, lift x${LIFT_SCALES[0]}`);
    // Preferring ALS's own lift: every scale tried, the lift back where it started.
    prepareStart(model, config.model, start('implicit', 0));
    const plain = await tuneAlsStart(model, config.model, start('implicit', 0), async () =>
      Math.abs(lift() / base - 1),
    );
    expect(plain?.liftScale).toBe(1);
    expect(lift()).toBeCloseTo(base, 4);
    model.dispose();
  });

  it('tuneAlsStart keeps the items’ biases (interaction rates) only when the score prefers them', async () => {
    const biasColumn = (m: ReturnType<typeof foldInModel>) => {
      const t = m.params['id.item'];
      const w = t.shape[1]!;
      return Array.from(t.dataSync()).filter((_, k) => k % w === w - 1);
    };
    const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
    for (const prefer of ['with', 'without'] as const) {
      const model = foldInModel();
      await initItemBiases(model, tasks, { items });
      prepareStart(model, config.model, start('implicit', 0));
      const rates = biasColumn(model);
      expect(sum(rates)).toBeGreaterThan(0);
      // Lower is better: the bias column's sum, or its negative.
      const score = async () => (prefer === 'without' ? 1 : -1) * sum(biasColumn(model));
      const chosen = await tuneAlsStart(model, config.model, start('implicit', 0), score);
      expect(chosen?.itemBiases).toBe(prefer === 'with');
      expect(biasColumn(model)).toEqual(prefer === 'with' ? rates : rates.map(() => 0));
      // Without the biases configured there is no second candidate.
      const plain = await tuneAlsStart(
        model,
        { ...config.model, initItemBiases: false },
        start('implicit', 0),
        score,
      );
      expect(plain?.itemBiases).toBe(false);
      expect(Object.keys(plain!.scores)).not.toContain('10 without item biases');
      model.dispose();
    }
  });

  it('is seeded, and `none` (explicit data’s auto) leaves the embeddings at zero', async () => {
    const rows = async (how: 'als' | 'none', kind: 'implicit' | 'explicit', seed: number) => {
      const model = foldInModel();
      prepareStart(model, { ...config.model, initItemEmbeddings: how }, start(kind, seed));
      const v = Array.from(model.params['id.item'].dataSync());
      model.dispose();
      return v;
    };
    expect(await rows('als', 'implicit', 1)).toEqual(await rows('als', 'implicit', 1));
    expect(await rows('als', 'implicit', 1)).not.toEqual(await rows('als', 'implicit', 2));
    const zeros = await rows('none', 'implicit', 1);
    // Only the ID bias column (initBiases is not called here) could be non-zero: it is not.
    expect(zeros.every((v) => v === 0)).toBe(true);
  });
});
