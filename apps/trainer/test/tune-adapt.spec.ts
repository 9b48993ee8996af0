import { parseConfig } from '../src/config/load';
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
