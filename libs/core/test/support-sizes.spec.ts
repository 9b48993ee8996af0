/** Variable support sizes in meta-training episodes (MetaTrainOptions.supportSizes). */
import { createModel, initBackend, metaTrain, type SupportSizes } from '../src';
import { drawSupportSize } from '../src/meta/train';
import type { Rating, Task } from '../src';
import { Rng } from '../src/rng';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('drawSupportSize', () => {
  it('keeps full sets, draws 1..n otherwise, log-uniform favouring small k', () => {
    const rng = new Rng(2);
    expect(drawSupportSize('full', 40, rng)).toBe(40);
    expect(drawSupportSize('uniform', 0, rng)).toBe(0);
    expect(drawSupportSize('log-uniform', 1, rng)).toBe(1);
    const share = (how: SupportSizes) => {
      const ks = Array.from({ length: 20000 }, () => drawSupportSize(how, 90, rng));
      expect(Math.min(...ks)).toBe(1);
      expect(Math.max(...ks)).toBeLessThanOrEqual(90);
      return ks.filter((k) => k <= 3).length / ks.length;
    };
    expect(share('uniform')).toBeCloseTo(3 / 90, 2);
    // mixed: half the episodes keep the full set, the other half draw uniformly.
    const mixed = Array.from({ length: 20000 }, () => drawSupportSize('mixed', 90, rng));
    expect(mixed.filter((k) => k === 90).length / mixed.length).toBeCloseTo(0.5 + 0.5 / 90, 1);
    expect(mixed.filter((k) => k <= 3).length / mixed.length).toBeCloseTo(0.5 * (3 / 90), 2);
    // P(k <= 3) = P((n+1)^u < 4) = log 4 / log 91.
    expect(share('log-uniform')).toBeCloseTo(Math.log(4) / Math.log(91), 1);
    const a = Array.from({ length: 20 }, (_, i) => drawSupportSize('uniform', 50, new Rng(i)));
    expect(Array.from({ length: 20 }, (_, i) => drawSupportSize('uniform', 50, new Rng(i)))).toEqual(a);
  });
});

describe('metaTrain with variable support sizes', () => {
  const world = makeWorld(3, 16, 24, 14);
  const train = async (supportSizes: SupportSizes, seed = 1) => {
    const model = createModel(world.spec, { embeddingDim: 3, hidden: [6], localGroups: ['output'], seed: 2 });
    const result = await metaTrain(model, world.tasks, world.catalog, {
      algorithm: 'anil',
      innerRidge: 2,
      epochs: 2,
      metaBatchSize: 4,
      supportSizes,
      seed,
    });
    const w = Array.from(model.params['dec.0.w'].dataSync());
    const info = model.training;
    model.dispose();
    return { w, result, info };
  };

  it('cuts each episode’s support set to a drawn prefix', async () => {
    // Support sets that record the prefixes taken of them.
    const cuts: number[] = [];
    class Recorded extends Array<Rating> {
      override slice(start?: number, end?: number): Rating[] {
        if (start === 0 && end !== undefined) cuts.push(end);
        return Array.from(this).slice(start, end);
      }
    }
    const tasks: Task[] = world.tasks.map((t) => ({ ...t, support: Recorded.from(t.support) }));
    const model = createModel(world.spec, { embeddingDim: 3, hidden: [6], localGroups: ['output'], seed: 2 });
    await metaTrain(model, tasks, world.catalog, {
      algorithm: 'anil',
      innerRidge: 2,
      epochs: 2,
      metaBatchSize: 4,
      supportSizes: 'uniform',
    });
    model.dispose();
    const full = world.tasks[0].support.length;
    expect(cuts).toHaveLength(2 * tasks.length); // one cut per task and epoch
    expect(Math.min(...cuts)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...cuts)).toBeLessThanOrEqual(full);
    expect(new Set(cuts).size).toBeGreaterThan(2);
  });

  it('gives the same weights from the same seed, others than full support, and records the choice', async () => {
    const a = await train('log-uniform');
    expect((await train('log-uniform')).w).toEqual(a.w);
    expect((await train('full')).w).not.toEqual(a.w);
    expect(a.info?.supportSizes).toBe('log-uniform');
    expect((await train('full')).info?.supportSizes).toBeUndefined();
    await expect(train('some' as SupportSizes)).rejects.toThrow(/options\.supportSizes/);
  });
});
