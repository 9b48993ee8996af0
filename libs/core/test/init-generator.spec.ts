/**
 * The ID generator started from the warm items' ID rows: the ridge regression of their embeddings
 * on their content rows (conjugate gradients on sparse rows), its penalty chosen on a seeded
 * held-out share, the ID bias column the warm items' mean.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  createModel,
  initBackend,
  initGeneratorFromIds,
  initItemEmbeddings,
  ValidationError,
  type ItemRecord,
} from '../src';
import { encodeInto } from '../src/features/encoder';
import { Rng } from '../src/rng';
import { itemIdRepr } from '../src/model/network';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(3, 8, 60, 8);
const warm = world.items.slice(0, 50);
const dim = 3;

function model(ids = warm.map((i) => i.id)) {
  return createModel(world.spec, {
    embeddingDim: 2,
    hidden: [8],
    localGroups: ['output'],
    idEmbeddings: { itemIds: ids, dim },
    task: 'implicit',
    seed: 4,
  });
}

function contentRow(m: ReturnType<typeof model>, item: ItemRecord): Float32Array {
  const x = new Float32Array(m.layout.di);
  encodeInto(m.spec.item, item.features, x, 0, m.encodeStats);
  return x;
}

/** The generator's output [idDim + 1] for an item (as the network computes it for a cold item). */
function generated(m: ReturnType<typeof model>, item: ItemRecord): number[] {
  return tf.tidy(() =>
    Array.from(
      itemIdRepr(
        m.params,
        tf.tensor2d(contentRow(m, item), [1, m.layout.di]),
        tf.tensor1d([0], 'int32'),
        tf.zeros([1]),
      ).dataSync(),
    ),
  );
}

describe('initGeneratorFromIds', () => {
  it('recovers an exact linear map from content to the ID embedding for unseen items; the bias is the mean', () => {
    const m = model();
    // Embeddings that are a fixed linear function of the content row, plus an offset; biases vary.
    const rng = Array.from({ length: m.layout.di * dim }, (_, i) => Math.sin(i + 1));
    const truth = (item: ItemRecord) => {
      const x = contentRow(m, item);
      return Float32Array.from(
        { length: dim },
        (_, c) => 0.5 + x.reduce((s, v, j) => s + v * rng[j * dim + c], 0),
      );
    };
    initItemEmbeddings(m, new Map(warm.map((i) => [i.id, truth(i)])));
    const table = m.params['id.item'];
    const values = table.dataSync().slice() as Float32Array;
    warm.forEach((_, k) => (values[(k + 1) * (dim + 1) + dim] = k / 10));
    table.assign(tf.tensor(values, table.shape));
    const fit = initGeneratorFromIds(m, world.catalog, { ridges: [1e-4, 1] })!;
    expect(fit.items).toBe(50);
    expect(fit.ridge).toBe(1e-4); // the data are noise-free: the smaller penalty predicts better
    expect(fit.heldOutR2).toBeGreaterThan(0.99);
    for (const item of world.items.slice(50)) {
      const out = generated(m, item);
      const want = truth(item);
      for (let c = 0; c < dim; c++) expect(out[c]).toBeCloseTo(want[c], 2);
      expect(out[dim]).toBeCloseTo(4.9 / 2, 5); // mean of 0, 0.1, ..., 4.9
    }
    m.dispose();
  });

  it('is seeded and reproducible, and prefers a larger penalty on noise', () => {
    const fits = [0, 1].map(() => {
      const m = model();
      // Embeddings unrelated to content: the held-out error favours shrinking to the mean.
      const noise = new Rng(11);
      initItemEmbeddings(
        m,
        new Map(warm.map((i) => [i.id, Float32Array.from({ length: dim }, () => noise.normal())])),
      );
      const fit = initGeneratorFromIds(m, world.catalog, { ridges: [1e-3, 1e3], seed: 9 });
      const w = Array.from(m.params['gen.w'].dataSync());
      m.dispose();
      return { fit, w };
    });
    expect(fits[0]).toEqual(fits[1]);
    expect(fits[0].fit!.ridge).toBe(1e3);
  });

  it('does nothing without ID embeddings, content or enough items; refuses bad options', () => {
    const few = model(warm.slice(0, 5).map((i) => i.id));
    const before = Array.from(few.params['gen.w'].dataSync());
    expect(initGeneratorFromIds(few, world.catalog)).toBeNull();
    expect(Array.from(few.params['gen.w'].dataSync())).toEqual(before);
    expect(initGeneratorFromIds(few, new Map())).toBeNull();
    expect(() => initGeneratorFromIds(few, world.catalog, { ridges: [0] })).toThrow(ValidationError);
    expect(() => initGeneratorFromIds(few, world.catalog, { holdout: 1 })).toThrow(/options.holdout/);
    few.dispose();
    const noIds = createModel(world.spec, { embeddingDim: 2, hidden: [4], idEmbeddings: null });
    expect(initGeneratorFromIds(noIds, world.catalog)).toBeNull();
    noIds.dispose();
  });
});
