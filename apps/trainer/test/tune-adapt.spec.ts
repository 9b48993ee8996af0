import { parseConfig } from '../src/config/load';
import { modelVariants } from '../src/learners/fine-tuned-net';
import { learnerSettings } from '../src/eval/methods';
import {
  learnerAdaptCandidates,
  LEARNER_LR_GRID,
  LEARNER_RIDGE_GRID,
  LEARNER_STEP_GRID,
} from '../src/learners/tune-adapt';
import { validationSet } from '@warmstart/evaluation';

describe('meta-learner adaptation tuning', () => {
  it('tries the configured settings first, then the grid without repeating them', () => {
    const c = learnerAdaptCandidates({ steps: 5, lr: 0.1, ridge: null });
    expect(c[0]).toEqual({ steps: 5, lr: 0.1, ridge: null });
    expect(c).toHaveLength(LEARNER_STEP_GRID.length * LEARNER_LR_GRID.length);
    expect(new Set(c.map((x) => `${x.steps}/${x.lr}`)).size).toBe(c.length);
    expect(c.every((x) => x.ridge === null)).toBe(true);
    const off = learnerAdaptCandidates({ steps: 3, lr: 0.2, ridge: null });
    expect(off[0]).toEqual({ steps: 3, lr: 0.2, ridge: null });
    expect(off).toHaveLength(LEARNER_STEP_GRID.length * LEARNER_LR_GRID.length + 1);
  });

  it('adds the ridge penalties for head-only models, without repeating a configured one', () => {
    const steps = LEARNER_STEP_GRID.length * LEARNER_LR_GRID.length;
    const c = learnerAdaptCandidates({ steps: 5, lr: 0.1, ridge: null }, true);
    expect(c).toHaveLength(steps + LEARNER_RIDGE_GRID.length);
    expect(c.filter((x) => x.ridge !== null).map((x) => x.ridge)).toEqual(LEARNER_RIDGE_GRID);
    const r = learnerAdaptCandidates({ steps: 5, lr: 0.1, ridge: LEARNER_RIDGE_GRID[1] }, true);
    expect(r[0].ridge).toBe(LEARNER_RIDGE_GRID[1]);
    expect(r).toHaveLength(steps + LEARNER_RIDGE_GRID.length);
    expect(r.filter((x) => x.ridge === LEARNER_RIDGE_GRID[1])).toHaveLength(1);
  });

  it('gives head-only learners the shared ridge penalties unless they set their own', () => {
    const c = parseConfig({
      train: { algorithm: 'anil', bayesHead: false, innerRidge: 4 },
      adapt: { ridge: 6 },
      evaluate: {
        learners: [
          { name: 'anil' },
          { name: 'anil-steps', innerRidge: null, adapt: { ridge: null } },
          { name: 'fomaml', algorithm: 'fomaml' },
          { name: 'fomaml-head', algorithm: 'fomaml', model: { localGroups: ['output'] } },
        ],
      },
    });
    const [anil, steps, fomaml, head] = c.evaluate.learners.map((l) => learnerSettings(c, l));
    expect([anil.innerRidge, anil.adapt.ridge]).toEqual([4, 6]);
    expect([steps.innerRidge, steps.adapt.ridge]).toEqual([null, null]);
    // The shared penalties apply to head-only learners only.
    expect([fomaml.innerRidge, fomaml.adapt.ridge]).toEqual([null, null]);
    expect([head.innerRidge, head.adapt.ridge]).toEqual([4, 6]);
    expect(() => parseConfig({ adapt: { ridge: 0 } })).toThrow(/adapt\.ridge/);
  });

  it('is on by default and can be turned off for the configured adapt settings', () => {
    const c = parseConfig({ evaluate: { learners: [{ name: 'x' }] } });
    expect(learnerSettings(c, c.evaluate.learners[0]).tuneAdapt).toBe(true);
    const off = parseConfig({ evaluate: { tuneAdapt: false, learners: [{ name: 'x' }] } });
    expect(learnerSettings(off, off.evaluate.learners[0]).tuneAdapt).toBe(false);
  });
});

describe('fine-tuned-net bias treatments', () => {
  it('tries the configured model, the learners bias backbone and learned biases, without repeats', () => {
    const model = parseConfig({}).model; // the default is the backbone
    expect(model).toMatchObject({ freezeItemBiases: true, userBiasShrinkage: 1 });
    const v = modelVariants(model);
    expect(v.map(([name]) => name)).toEqual(['configured', 'learned-biases']);
    expect(v[1][1]).toMatchObject({ freezeItemBiases: false, userBiasShrinkage: null, hidden: model.hidden });
    const plain = { ...model, freezeItemBiases: false, userBiasShrinkage: null };
    const w = modelVariants(plain);
    expect(w.map(([name]) => name)).toEqual(['configured', 'backbone']);
    expect(w[1][1]).toMatchObject({ freezeItemBiases: true, userBiasShrinkage: 1 });
    // Without the closed-form initialisation there is nothing to freeze.
    expect(modelVariants({ ...plain, initItemBiases: false })).toHaveLength(1);
  });
});

describe('cold-item validation', () => {
  const items = new Map([
    ['a', { id: 'a', features: { genres: ['Drama'] } }],
    ['b', { id: 'b', features: { genres: ['Comedy'] } }],
  ]);
  const user = { id: 'u1', features: {} };
  const tasks = [{ user, support: [{ itemId: 'a', value: 4 }], query: [{ itemId: 'b', value: 2 }] }];

  it('off: only the warm tasks', () => {
    expect(validationSet(tasks, items, false)).toEqual({ tasks, items });
  });

  it('on: adds a copy of the tasks whose items carry hidden IDs and the same features', () => {
    const v = validationSet(tasks, items, true);
    expect(v.tasks).toBe(tasks);
    const cold = v.coldItems!;
    const [support, query] = [cold.tasks[0].support[0], cold.tasks[0].query[0]];
    expect(support.itemId).not.toBe('a');
    expect(query.itemId).not.toBe('b');
    expect(support.value).toBe(4);
    expect(cold.items.get(support.itemId)).toEqual({
      id: support.itemId,
      features: items.get('a')!.features,
    });
    expect(cold.items.get(query.itemId)!.features).toBe(items.get('b')!.features);
    expect(tasks[0].support[0].itemId).toBe('a'); // the originals are untouched
    expect(parseConfig({}).train.coldItemValidation).toBe(false);
  });
});
