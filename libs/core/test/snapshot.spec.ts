import { createModel, initBackend, metaTrain } from '../src';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('model snapshot / restore', () => {
  const world = makeWorld(3, 8, 10, 6);

  it('restore puts back every trained value, including Meta-SGD rates and the global mean', async () => {
    const model = createModel(world.spec, { embeddingDim: 2, hidden: [3] });
    await metaTrain(model, world.tasks, world.catalog, {
      algorithm: 'meta-sgd',
      metaBatchSize: 4,
      innerSteps: 1,
    });
    const values = () => ({
      params: Object.fromEntries(Object.entries(model.params).map(([n, v]) => [n, Array.from(v.dataSync())])),
      lrs: Object.fromEntries(Object.entries(model.innerLrs!).map(([n, v]) => [n, Array.from(v.dataSync())])),
      mean: model.globalMean,
    });
    const snap = model.snapshot();
    const before = values();
    await metaTrain(model, world.tasks, world.catalog, {
      algorithm: 'meta-sgd',
      metaBatchSize: 4,
      innerSteps: 1,
      outerLr: 0.05,
    });
    model.globalMean += 1;
    expect(values()).not.toEqual(before);
    model.restore(snap);
    expect(values()).toEqual(before);
    model.dispose();
  });

  it('rejects a snapshot of a different model', () => {
    const a = createModel(world.spec, { embeddingDim: 2, hidden: [3] });
    const b = createModel(world.spec, { embeddingDim: 2, hidden: [4] });
    expect(() => b.restore(a.snapshot())).toThrow(/snapshot\.dec\.0\.wu/);
    a.dispose();
    b.dispose();
  });
});
