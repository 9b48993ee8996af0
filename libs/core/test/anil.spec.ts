/**
 * The ANIL configuration (only the output head local): the shared-trunk shortcuts (trunk computed
 * once per adaptation, item half of the first layer precomputed per item, gathered item sets)
 * must give the same numbers as the general path.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adapt, ANIL_LOCAL_GROUPS, createModel, EncodedItems, initBackend, metaTrain, score } from '../src';
import { headGrads } from '../src/model/head';
import { inputsFor, tileLocal } from '../src/model/inner';
import { lossRowWeights, supportGrads, trunk, withContent } from '../src/model/network';
import { buildMetaBatch, disposeMetaBatch } from '../src/meta/objective';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld();
const cfg = { embeddingDim: 4, hidden: [8, 6], seed: 3, localGroups: ANIL_LOCAL_GROUPS };

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4): void {
  expect(a.length).toBe(b.length);
  const scale = Math.max(1, ...Array.from(b, Math.abs));
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]) / scale).toBeLessThan(tol);
}

describe('ANIL (output head local, shared trunk)', () => {
  for (const task of ['rating', 'implicit'] as const) {
    it(`head gradients equal the general backward pass (${task})`, () => {
      const model = createModel(world.spec, { ...cfg, task });
      const mb = buildMetaBatch(model, world.tasks.slice(0, 4), world.catalog);
      const names = model.localNames();
      expect(names).toEqual(['out.w', 'out.b']);
      tf.tidy(() => {
        const global = model.globals();
        const inp = withContent(
          model.layout,
          global,
          inputsFor(model.layout, global, mb.userX, mb.support),
          model.globalMean,
        );
        // Distinct per-user heads, as after a first step.
        const local = tileLocal(global, names, mb.size);
        for (const n of names)
          local[n] = tf.add(local[n], tf.randomNormal(local[n].shape, 0, 0.2, 'float32', 7));
        const p = { ...global, ...local };
        const general = supportGrads(
          model.layout,
          p,
          names,
          inp,
          mb.support.y,
          mb.support.mask,
          model.globalMean,
          0.1,
        );
        const t = trunk(model.layout, global, inp, model.globalMean);
        const w = lossRowWeights(model.layout, mb.support.mask, 0.1);
        const head = headGrads(model.layout, p, names, t.features, t.offset, mb.support.y, w);
        for (const n of names) expectClose(head[n].dataSync(), general[n].dataSync());
      });
      disposeMetaBatch(mb);
      model.dispose();
    });
  }

  it('batched adaptation equals one user at a time, and precomputed scoring equals the general forward', () => {
    const model = createModel(world.spec, cfg);
    expect(model.firstLayerIsGlobal).toBe(true);
    const reqs = world.tasks
      .slice(0, 5)
      .map((t, i) => ({ user: t.user, support: t.support.slice(0, 2 + i) }));
    const items = model.encodeItems(world.items);
    expect(items.pre0).not.toBeNull();
    const batched = adapt(model, reqs, world.catalog, { steps: 3, lr: 0.05 });
    reqs.forEach((r, i) => {
      const single = adapt(model, [r], world.catalog, { steps: 3, lr: 0.05 });
      expectClose(score(batched, i, items), score(single, 0, items));
      single.dispose();
    });
    batched.dispose();
    items.dispose();
    model.dispose();
  });

  it('scores like the general path (no first-layer precomputation) after adaptation', () => {
    const model = createModel(world.spec, cfg);
    const items = model.encodeItems(world.items);
    const a = adapt(model, world.tasks.slice(0, 2), world.catalog, { steps: 2, lr: 0.05 });
    const fast = score(a, 1, items);
    // Same parameters, first-layer precomputation switched off.
    model.config.localGroups = ['decision', 'output'];
    const plain = model.encodeItems(world.items);
    expect(plain.pre0).toBeNull();
    model.config.localGroups = [...ANIL_LOCAL_GROUPS];
    expectClose(fast, score(a, 1, plain));
    plain.dispose();
    a.dispose();
    items.dispose();
    model.dispose();
  });

  it('gathered item sets equal freshly encoded ones, without leaking tensors', () => {
    const model = createModel(world.spec, cfg);
    const half = Math.floor(world.items.length / 2);
    const pages = [model.encodeItems(world.items.slice(0, half)), model.encodeItems(world.items.slice(half))];
    const order = [half + 1, 0, 2, half, 1];
    const before = tf.memory().numTensors;
    const picked = EncodedItems.select(
      order.map((i) => (i < half ? { source: pages[0], row: i } : { source: pages[1], row: i - half })),
    );
    const fresh = model.encodeItems(order.map((i) => world.items[i]));
    expect(picked.ids).toEqual(fresh.ids);
    const a = adapt(model, world.tasks.slice(0, 1), world.catalog, { steps: 1 });
    expectClose(score(a, 0, picked), score(a, 0, fresh));
    a.dispose();
    fresh.dispose();
    picked.dispose();
    expect(tf.memory().numTensors).toBe(before);
    pages.forEach((p) => p.dispose());
    model.dispose();
  });

  it('metaTrain with algorithm anil switches to the output head and reduces the loss', async () => {
    const model = createModel(world.spec, { embeddingDim: 4, hidden: [8, 6], seed: 3 });
    const res = await metaTrain(model, world.tasks, world.catalog, {
      algorithm: 'anil',
      metaBatchSize: 4,
      epochs: 4,
      innerSteps: 2,
      outerLr: 0.01,
    });
    expect(model.config.localGroups).toEqual(['output']);
    const first = res.epochLoss[0];
    expect(res.epochLoss[res.epochLoss.length - 1]).toBeLessThan(first);
    model.dispose();
  });
});
