/**
 * scoreBatch (several users of one adapted batch on the same items in one computation) must give
 * what score() gives user by user, for the shared-trunk (ANIL) path and the per-user fallback.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  adapt,
  EncodedItems,
  ANIL_LOCAL_GROUPS,
  createModel,
  initBackend,
  score,
  scoreBatch,
  type AdaptRequest,
  type ModelConfig,
} from '../src';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld();

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(tol);
}

const configs: [string, Partial<ModelConfig>][] = [
  ['anil rating', { localGroups: ANIL_LOCAL_GROUPS }],
  ['anil implicit', { localGroups: ANIL_LOCAL_GROUPS, task: 'implicit' }],
  ['melu (per-user fallback)', {}],
  // One decision layer: scored on the host from the items' pre0 and offset.
  ['anil one layer rating', { localGroups: ANIL_LOCAL_GROUPS, hidden: [8] }],
  ['anil one layer implicit', { localGroups: ANIL_LOCAL_GROUPS, hidden: [8], task: 'implicit' }],
];

describe('scoreBatch', () => {
  for (const [name, config] of configs) {
    it(`equals score() per user: ${name}`, () => {
      const model = createModel(world.spec, { embeddingDim: 4, hidden: [8, 6], seed: 5, ...config });
      // Output parameters away from zero, so that clamping and the head's weights matter.
      if (config.hidden?.length === 1)
        tf.tidy(() => {
          const g = model.globals();
          (g['out.w'] as tf.Variable).assign(tf.mul(tf.onesLike(g['out.w']), 0.7));
        });
      // Distinct features, repeated features (shared trunk pass) and featureless users.
      const requests: AdaptRequest[] = world.tasks
        .slice(0, 5)
        .map((t) => ({ user: t.user, support: t.support }));
      requests.push({ user: { ...world.tasks[0].user, id: 'twin' }, support: world.tasks[6].support });
      requests.push({ user: { id: 'anon1', features: {} }, support: world.tasks[7].support });
      requests.push({ user: { id: 'anon2', features: {} }, support: world.tasks[8].support });
      requests.push({ user: { id: 'anon3', features: {} }, support: [] });
      const adapted = adapt(model, requests, world.catalog);
      const items = model.encodeItems(world.items);
      try {
        const order = [8, 0, 5, 2, 7, 6, 1, 3, 4, 0];
        const batch = scoreBatch(adapted, order, items);
        expect(batch).toHaveLength(order.length * items.size);
        order.forEach((u, j) =>
          expectClose(batch.subarray(j * items.size, (j + 1) * items.size), score(adapted, u, items)),
        );
        expect(scoreBatch(adapted, [], items)).toHaveLength(0);
        expect(() => scoreBatch(adapted, [0, requests.length], items)).toThrow(/userIndices\[1\]/);
      } finally {
        items.dispose();
        adapted.dispose();
      }
      const again = model.encodeItems(world.items);
      expect(() => scoreBatch(adapted, [0], again)).toThrow(/disposed/);
      again.dispose();
      model.dispose();
    });
  }
});

/**
 * Reads every field of a set as a tensor once: fields a shared-trunk model keeps on the host only
 * become (kept) tensors when first read, which must not count as a leak of what a test measures.
 */
function touchFields(items: EncodedItems): void {
  for (const field of ['x', 'content', 'idRepr', 'hidden', 'offset', 'pre0'] as const) void items[field];
}

describe('EncodedItems.select', () => {
  const half = Math.floor(world.items.length / 2);
  const order = [half + 1, 0, 2, 3, 4, half, 1, half + 2, half + 3, 5];
  const pick = (pages: EncodedItems[]) =>
    order.map((i) => (i < half ? { source: pages[0], row: i } : { source: pages[1], row: i - half }));

  for (const [name, config] of configs) {
    it(`gathers every field lazily, equal to a fresh encoding: ${name}`, () => {
      const model = createModel(world.spec, { embeddingDim: 4, hidden: [8, 6], seed: 5, ...config });
      const pages = [
        model.encodeItems(world.items.slice(0, half)),
        model.encodeItems(world.items.slice(half)),
      ];
      const fresh = model.encodeItems(order.map((i) => world.items[i]));
      touchFields(fresh);
      let before = tf.memory().numTensors;
      const picked = EncodedItems.select(pick(pages));
      // Nothing is copied into tensors until read; the sources may go right away.
      expect(tf.memory().numTensors).toBe(before);
      pages.forEach((p) => p.dispose());
      before = tf.memory().numTensors;
      expect(picked.ids).toEqual(fresh.ids);
      for (const field of ['x', 'content', 'idRepr', 'hidden', 'offset', 'pre0'] as const) {
        const b = fresh[field];
        if (b !== null) {
          // Rows read in place (before anything is gathered) equal the fresh encoding's.
          const { values, src, row, width } = picked.hostRows(field);
          expect(src).not.toBeNull();
          const flat = order.flatMap((_, i) =>
            Array.from(values[src![i]].subarray(row![i] * width, (row![i] + 1) * width)),
          );
          expectClose(flat, b.dataSync(), 1e-6);
        }
        const a = picked[field];
        expect(picked.has(field)).toBe(b !== null);
        if (a === null || b === null) {
          expect(a).toBe(b);
          continue;
        }
        expect(a.shape).toEqual(b.shape);
        expectClose(a.dataSync(), b.dataSync(), 1e-6);
        expectClose(picked.hostValues(field), b.dataSync(), 1e-6);
        expect(picked.width(field)).toBe(b.size / fresh.size);
      }
      picked.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(() => picked.x).toThrow(/disposed/);
      fresh.dispose();
      model.dispose();
    });

    it(`scoreBatch on a gathered set equals score() on a fresh encoding: ${name}`, () => {
      const model = createModel(world.spec, { embeddingDim: 4, hidden: [8, 6], seed: 5, ...config });
      const pages = [
        model.encodeItems(world.items.slice(0, half)),
        model.encodeItems(world.items.slice(half)),
      ];
      const fresh = model.encodeItems(order.map((i) => world.items[i]));
      const requests = world.tasks.slice(0, 3).map((t) => ({ user: t.user, support: t.support }));
      const adapted = adapt(model, requests, world.catalog);
      touchFields(fresh);
      const before = tf.memory().numTensors;
      const picked = EncodedItems.select(pick(pages));
      const batch = scoreBatch(adapted, [2, 0, 1], picked);
      if (model.firstLayerIsGlobal) {
        // A shared trunk reads only pre0 and offset: one layer on the host (no tensor made),
        // deeper trunks as two tensors; feature rows and item vectors are never gathered.
        const oneLayer = config.hidden?.length === 1;
        expect(tf.memory().numTensors).toBe(before + (oneLayer ? 0 : 2));
      }
      [2, 0, 1].forEach((u, j) =>
        expectClose(batch.subarray(j * fresh.size, (j + 1) * fresh.size), score(adapted, u, fresh)),
      );
      picked.dispose();
      expect(tf.memory().numTensors).toBe(before);
      adapted.dispose();
      fresh.dispose();
      pages.forEach((p) => p.dispose());
      model.dispose();
    });
  }
});
