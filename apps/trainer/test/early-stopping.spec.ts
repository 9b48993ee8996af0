import { createModel, FeatureSpec, initBackend } from '@warmstart/core';
import { parseConfig } from '../src/config/load';
import { learnerSettings } from '../src/eval/methods';
import { EarlyStopping } from '../src/learners/early-stopping';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

function tinyModel() {
  const spec = FeatureSpec.fromData(
    { user: [{ name: 'g', kind: 'categorical' }], item: [{ name: 'c', kind: 'categorical' }] },
    [{ id: 'u', features: { g: 'a' } }],
    [{ id: 'i', features: { c: 'x' } }],
  );
  return createModel(spec, { embeddingDim: 2, hidden: [3] });
}

/** Sets every parameter to `v`, standing in for an epoch of training. */
function setAll(model: ReturnType<typeof tinyModel>, v: number): void {
  const s = model.snapshot();
  for (const values of s.params.values()) values.fill(v);
  model.restore(s);
}

describe('early stopping on validation MAE', () => {
  it('stops after `patience` epochs without improvement and restores the best epoch', () => {
    const model = tinyModel();
    const stop = new EarlyStopping(model, 2);
    setAll(model, 1);
    expect(stop.observe(0, 0.9)).toBeUndefined();
    setAll(model, 2);
    expect(stop.observe(1, 0.8)).toBeUndefined(); // best so far
    setAll(model, 3);
    expect(stop.observe(2, 0.85)).toBeUndefined(); // one epoch without improvement
    setAll(model, 4);
    expect(stop.observe(3, 0.81)).toBe('stop'); // two
    expect(stop.finish()).toEqual({ epoch: 1, score: 0.8 });
    for (const p of Object.values(model.params))
      expect(Array.from(p.dataSync()).every((x) => x === 2)).toBe(true);
    model.dispose();
  });

  it('finish without any observation leaves the model alone', () => {
    const model = tinyModel();
    setAll(model, 5);
    expect(new EarlyStopping(model, 1).finish()).toBeUndefined();
    expect(model.params['out.w'].dataSync()[0]).toBe(5);
    model.dispose();
  });

  it('is configured by train.patience (default 2) and per learner', () => {
    const c = parseConfig({
      train: { patience: 2 },
      evaluate: { learners: [{ name: 'a' }, { name: 'b', patience: 0 }] },
    });
    expect(learnerSettings(c, c.evaluate.learners[0]).patience).toBe(2);
    expect(learnerSettings(c, c.evaluate.learners[1]).patience).toBe(0);
    expect(parseConfig({}).train.patience).toBe(2);
    expect(() => parseConfig({ train: { patience: -1 } })).toThrow(/train\.patience/);
  });
});
