import * as tf from '@tensorflow/tfjs-core';
import { clearItemBiases, createModel, initBackend, initItemBiases, metaTrain, type Task } from '../src';
import { Rng } from '../src/rng';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('initItemBiases', () => {
  const world = makeWorld(1, 4, 6, 4);
  const u = world.users[0];
  // Ratings: i0 -> 5, 5; i1 -> 1; i2 -> 3. Mean = 14 / 4 = 3.5.
  const tasks: Task[] = [
    { user: u, support: [{ itemId: 'i0', value: 5 }], query: [{ itemId: 'i1', value: 1 }] },
    { user: u, support: [{ itemId: 'i0', value: 5 }], query: [{ itemId: 'i2', value: 3 }] },
  ];

  it('sets the global mean and shrunk item ID biases (hand-computed)', async () => {
    const model = createModel(world.spec, {
      embeddingDim: 2,
      hidden: [3],
      idEmbeddings: { itemIds: ['i0', 'i1', 'i5'], dim: 2 },
    });
    const r = await initItemBiases(model, tasks, { shrinkage: 2 });
    expect(r).toEqual({ ratings: 4, items: 2, mean: 3.5, shrinkage: 2 });
    expect(model.globalMean).toBeCloseTo(3.5, 6);
    const table = model.params['id.item'];
    const bias = (row: number) => table.dataSync()[row * 3 + 2];
    expect(bias(1)).toBeCloseTo((10 - 2 * 3.5) / (2 + 2), 6); // i0: 0.75
    expect(bias(2)).toBeCloseTo((1 - 3.5) / (1 + 2), 6); // i1
    expect(bias(3)).toBe(0); // i5: never rated
    // metaTrain keeps a fitted mean.
    await metaTrain(model, world.tasks, world.catalog, { metaBatchSize: 2, innerSteps: 1 });
    expect(model.globalMean).toBeCloseTo(3.5, 6);
    model.dispose();
  });

  it('with empirical-Bayes shrinkage, fits sigma^2 / tau^2 from the variance components', async () => {
    // A normal-normal world: item effects with variance tau^2 = 0.25, rating noise sigma^2 = 1,
    // so the shrinkage should come out near 4 (20 ratings for each of 400 items).
    const rng = new Rng(5);
    const items = Array.from({ length: 400 }, (_, i) => `i${i}`);
    const effects = items.map(() => 0.5 * rng.normal());
    const many: Task[] = Array.from({ length: 20 }, () => ({
      user: u,
      support: items.map((itemId, i) => ({ itemId, value: 3 + effects[i] + rng.normal() })),
      query: [],
    }));
    const model = createModel(world.spec, { embeddingDim: 2, hidden: [3], idEmbeddings: { itemIds: items } });
    const r = await initItemBiases(model, many, { shrinkage: 'empirical-bayes' });
    expect(r.shrinkage).toBeGreaterThan(3);
    expect(r.shrinkage).toBeLessThan(5.3);
    // With identical items there is no between-item variance: heavy (finite) shrinkage.
    const flat: Task[] = [
      { user: u, support: [1, 3, 5].map((value) => ({ itemId: 'i0', value })), query: [] },
      { user: u, support: [1, 3, 5].map((value) => ({ itemId: 'i1', value })), query: [] },
    ];
    expect((await initItemBiases(model, flat, { shrinkage: 'empirical-bayes' })).shrinkage).toBeCloseTo(
      100,
      6,
    );
    await expect(initItemBiases(model, many, { shrinkage: 'x' as never })).rejects.toThrow(
      /options\.shrinkage/,
    );
    model.dispose();
  });

  it('with items, fits an evidence-weighted content regression and shrinks ID biases towards it', async () => {
    const model = createModel(world.spec, {
      embeddingDim: 2,
      hidden: [3],
      idEmbeddings: { itemIds: ['i0', 'i1', 'i2'], dim: 2 },
    });
    const ridge = 0.5;
    await initItemBiases(model, tasks, { shrinkage: 2, items: world.catalog, ridge, evidenceCap: 1.5 });
    const w = model.params['emb.itemBias'].dataSync();
    expect(Array.from(w).some((x) => x !== 0)).toBe(true);
    const table = model.params['id.item'].dataSync();
    const items = model.encodeItems(world.items.slice(0, 3));
    const x = items.x.arraySync();
    // Per item: deviation sum(r - 3.5), count n, regression weight min(n, 1.5), target dev / n.
    const dev = [10 - 7, 1 - 3.5, 3 - 3.5];
    const n = [2, 1, 1];
    const fit = x.map((row) => row.reduce((s, v, i) => s + v * w[i], 0));
    // Normal equations of the weighted ridge regression: sum_k weight_k x_kj (target_k - fit_k) = ridge w_j.
    for (let j = 0; j < w.length; j++) {
      const lhs = x.reduce((s, row, k) => s + Math.min(n[k], 1.5) * row[j] * (dev[k] / n[k] - fit[k]), 0);
      expect(lhs).toBeCloseTo(ridge * w[j], 4);
    }
    // ID bias: the residual shrunk towards the content prediction.
    x.forEach((_, k) => {
      expect(table[(k + 1) * 3 + 2]).toBeCloseTo((dev[k] - n[k] * fit[k]) / (n[k] + 2), 5);
    });
    items.dispose();
    model.dispose();
  });

  it('rejects bad options and empty data', async () => {
    const model = createModel(world.spec, { embeddingDim: 2, hidden: [3] });
    await expect(initItemBiases(model, tasks, { shrinkage: -1 })).rejects.toThrow(/options\.shrinkage/);
    await expect(initItemBiases(model, tasks, { ridge: 0 })).rejects.toThrow(/options\.ridge/);
    await expect(initItemBiases(model, tasks, { evidenceCap: 0 })).rejects.toThrow(/options\.evidenceCap/);
    await expect(initItemBiases(model, [])).rejects.toThrow(/tasks: contain no ratings/);
    model.dispose();
  });

  it('freezeItemBiases keeps the bias terms fixed while the rest of the model trains', async () => {
    const model = createModel(world.spec, {
      embeddingDim: 2,
      hidden: [3],
      idEmbeddings: { itemIds: ['i0', 'i1', 'i2'], dim: 2, coldRate: 0.5 },
    });
    await initItemBiases(model, tasks, { shrinkage: 2, items: world.catalog });
    const snap = (name: string) => Array.from(model.params[name].dataSync());
    const lastColumn = (v: number[], width: number) => v.filter((_, i) => i % width === width - 1);
    const before = Object.fromEntries(
      ['emb.itemBias', 'id.item', 'gen.w', 'gen.b', 'dec.0.w'].map((n) => [n, snap(n)]),
    );
    await metaTrain(model, world.tasks, world.catalog, {
      algorithm: 'fomaml',
      metaBatchSize: 2,
      innerSteps: 1,
      epochs: 2,
      outerLr: 0.05,
      freezeItemBiases: true,
    });
    const after = Object.fromEntries(Object.keys(before).map((n) => [n, snap(n)]));
    expect(after['emb.itemBias']).toEqual(before['emb.itemBias']);
    expect(lastColumn(after['id.item'], 3)).toEqual(lastColumn(before['id.item'], 3));
    expect(lastColumn(after['gen.w'], 3)).toEqual(lastColumn(before['gen.w'], 3));
    expect(after['gen.b'][2]).toBe(before['gen.b'][2]);
    // Everything else still learns: the ID embedding columns, the generator, the decision layers.
    expect(after['id.item']).not.toEqual(before['id.item']);
    expect(after['gen.w']).not.toEqual(before['gen.w']);
    expect(after['dec.0.w']).not.toEqual(before['dec.0.w']);
    model.dispose();
  });
});

describe('initItemBiases on implicit feedback', () => {
  it("sets each item's ID bias to its interaction rate n / users, with no content bias", async () => {
    const world = makeWorld(2, 4, 6, 4);
    const [a, b, c] = world.users;
    const one = (itemId: string) => ({ itemId, value: 1 });
    const tasks: Task[] = [
      { user: a, support: [one('i0')], query: [one('i1')] },
      { user: b, support: [one('i0')], query: [] },
      { user: c, support: [one('i0'), one('i2')], query: [one('i1')] },
    ];
    const model = createModel(world.spec, {
      task: 'implicit',
      embeddingDim: 2,
      hidden: [3],
      idEmbeddings: { itemIds: ['i0', 'i1', 'i2', 'i5'], dim: 2 },
    });
    const contentBefore = Array.from(model.params['emb.itemBias'].dataSync());
    const r = await initItemBiases(model, tasks, { items: world.catalog });
    expect(r).toEqual({ ratings: 6, items: 3, mean: 0, shrinkage: 0 });
    const bias = (row: number) => model.params['id.item'].dataSync()[row * 3 + 2];
    expect([1, 2, 3, 4].map(bias)).toEqual([1, 2 / 3, 1 / 3, 0].map((v) => Math.fround(v)));
    expect(Array.from(model.params['emb.itemBias'].dataSync())).toEqual(contentBefore);
    // clearItemBiases puts every bias column back to 0 and leaves the embedding columns alone.
    const table = model.params['id.item'];
    table.assign(tf.add(table, 0.5));
    const before = Array.from(table.dataSync());
    const version = model.version;
    expect(clearItemBiases(model)).toBe(5);
    const after = Array.from(model.params['id.item'].dataSync());
    after.forEach((v, k) => expect(v).toBe(k % 3 === 2 ? 0 : before[k]));
    expect(model.version).toBeGreaterThan(version);
    model.dispose();
  });
});
