import { parseConfig } from '../src/config/load';
import { modelVariants } from '../src/meta/fine-tuned-net';
import { learnerSettings } from '../src/eval/methods';
import { learnerAdaptCandidates, LEARNER_LR_GRID, LEARNER_STEP_GRID } from '../src/meta/tune-adapt';

describe('meta-learner adaptation tuning', () => {
  it('tries the configured settings first, then the grid without repeating them', () => {
    const c = learnerAdaptCandidates({ steps: 5, lr: 0.1 });
    expect(c[0]).toEqual({ steps: 5, lr: 0.1 });
    expect(c).toHaveLength(LEARNER_STEP_GRID.length * LEARNER_LR_GRID.length);
    expect(new Set(c.map((x) => `${x.steps}/${x.lr}`)).size).toBe(c.length);
    const off = learnerAdaptCandidates({ steps: 3, lr: 0.2 });
    expect(off[0]).toEqual({ steps: 3, lr: 0.2 });
    expect(off).toHaveLength(LEARNER_STEP_GRID.length * LEARNER_LR_GRID.length + 1);
  });

  it('is on by default and can be turned off for the configured adapt settings', () => {
    const c = parseConfig({ evaluate: { learners: [{ name: 'x' }] } });
    expect(learnerSettings(c, c.evaluate.learners[0]).tuneAdapt).toBe(true);
    const off = parseConfig({ evaluate: { tuneAdapt: false, learners: [{ name: 'x' }] } });
    expect(learnerSettings(off, off.evaluate.learners[0]).tuneAdapt).toBe(false);
  });
});

describe('fine-tuned-net bias treatments', () => {
  it('adds the learners bias backbone unless the configured model already uses it', () => {
    const model = parseConfig({}).model;
    const v = modelVariants(model);
    expect(v.map(([name]) => name)).toEqual(['configured', 'backbone']);
    expect(v[1][1]).toMatchObject({ freezeItemBiases: true, userBiasShrinkage: 1, hidden: model.hidden });
    const already = { ...model, freezeItemBiases: true, userBiasShrinkage: 2 };
    expect(modelVariants(already)).toEqual([['configured', already]]);
    // Without the closed-form initialisation there is nothing to freeze.
    expect(modelVariants({ ...model, initItemBiases: false })).toHaveLength(1);
  });
});
