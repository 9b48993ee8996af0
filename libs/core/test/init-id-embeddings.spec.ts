/**
 * Starting points for meta-training: item ID embeddings set from outside (bias column kept,
 * wrong sizes refused), the trunk as a pass-through of the ID embedding ([relu(e), relu(-e)] on
 * the first 2 * idDim units, so a linear head reproduces any linear function of e), and the
 * catalog fold-in's weights from ALS's (w = N / alpha, D = reg / alpha, m = (1 + alpha) / alpha).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  alsFoldInStart,
  createModel,
  initBackend,
  initCatalogFoldIn,
  initItemEmbeddings,
  passThroughItemIds,
  ValidationError,
  type ModelConfig,
} from '../src';
import { buildRatedSet, disposeRatedSet } from '../src/model/batch';
import { inputsFor } from '../src/model/inner';
import { trunk, withContent } from '../src/model/network';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(4, 12, 20, 8);
const ids = world.items.map((i) => i.id);

function model(extra: Partial<ModelConfig> = {}) {
  return createModel(world.spec, {
    embeddingDim: 3,
    hidden: [8, 10],
    localGroups: ['output'],
    idEmbeddings: { itemIds: ids.slice(0, 15), dim: 4 },
    seed: 2,
    ...extra,
  });
}

describe('initItemEmbeddings', () => {
  it('sets the listed rows, keeps each row’s ID bias, skips unknown items, refuses a wrong size', () => {
    const m = model();
    const before = m.params['id.item'].arraySync() as number[][];
    const n = initItemEmbeddings(
      m,
      new Map([
        [ids[0], Float32Array.from([1, 2, 3, 4])],
        [ids[19], Float32Array.from([5, 5, 5, 5])], // no ID row: skipped
      ]),
    );
    expect(n).toBe(1);
    const after = m.params['id.item'].arraySync() as number[][];
    const row = m.itemIdIndex.get(ids[0])!;
    expect(after[row].slice(0, 4)).toEqual([1, 2, 3, 4]);
    expect(after[row][4]).toBe(before[row][4]);
    expect(after[row + 1]).toEqual(before[row + 1]);
    expect(() => initItemEmbeddings(m, new Map([[ids[1], new Float32Array(3)]]))).toThrow(ValidationError);
    m.dispose();
  });
});

describe('passThroughItemIds', () => {
  it('makes the trunk carry [relu(e), relu(-e)] on its first 2 * idDim units', () => {
    const m = model();
    const e = ids.slice(0, 15).map((_, i) => Float32Array.from([i - 7, 0.5 * i, -1, Math.sin(i)]));
    initItemEmbeddings(m, new Map(ids.slice(0, 15).map((id, i) => [id, e[i]])));
    expect(passThroughItemIds(m)).toBe(true);
    const set = buildRatedSet(m, [ids.slice(0, 15).map((itemId) => ({ itemId, value: 1 }))], world.catalog, {
      path: 't',
      list: 'items',
    });
    const h = tf.tidy(() => {
      const g = m.globals();
      const inp = withContent(m.layout, g, inputsFor(m.layout, g, m.encodeUsers([world.users[0]]), set), 0);
      return trunk(m.layout, g, inp, 0).features.arraySync()[0];
    });
    e.forEach((v, i) => {
      const want = [...v].map((x) => Math.max(x, 0)).concat([...v].map((x) => Math.max(-x, 0)));
      want.forEach((x, j) => expect(h[i][j]).toBeCloseTo(x, 5));
    });
    disposeRatedSet(set);
    m.dispose();
  });

  it('changes nothing when a layer is narrower than 2 * idDim', () => {
    const m = model({ hidden: [6] });
    const before = m.params['dec.0.w'].dataSync().slice();
    expect(passThroughItemIds(m)).toBe(false);
    expect(m.params['dec.0.w'].dataSync()).toEqual(before);
    m.dispose();
  });
});

describe('initCatalogFoldIn', () => {
  it('starts the fold-in as ALS’s, and is refused on a model without it', () => {
    const start = alsFoldInStart(1000, 10, 5);
    expect(start).toEqual({ catalogWeight: 100, precision: 0.5, lift: 1.1 });
    const m = model({
      task: 'implicit',
      negatives: { perPositive: 2, distribution: 'uniform' },
      bayesHead: true,
      catalogFoldIn: true,
    });
    expect([...m.params['out.w'].dataSync()].some((v) => v !== 0)).toBe(true);
    initCatalogFoldIn(m, start);
    expect([...m.params['out.w'].dataSync()].every((v) => v === 0)).toBe(true); // no prior direction
    expect(Math.exp(m.params['prior.logCatalog'].dataSync()[0])).toBeCloseTo(100, 3);
    expect(Math.exp(m.params['prior.logLift'].dataSync()[0])).toBeCloseTo(1.1, 5);
    expect([...m.params['prior.logPrec'].dataSync()].every((v) => Math.abs(Math.exp(v) - 0.5) < 1e-5)).toBe(
      true,
    );
    expect(() => initCatalogFoldIn(m, { ...start, lift: 0 })).toThrow(/start\.lift/);
    m.dispose();
    const plain = model();
    expect(() => initCatalogFoldIn(plain, start)).toThrow(ValidationError);
    plain.dispose();
  });
});
