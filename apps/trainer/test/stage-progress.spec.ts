/**
 * Progress of the choices a fit makes on validation users outside its training epochs
 * (FitProgress.stage): each stage counts its candidates from 0 to its total, a meta-learner's fit
 * reports them, and `train` draws one bar per stage.
 */
import { initBackend } from '@warmstart/core';
import { itemCatalog, type FitProgress, type ProgressReporter } from '@warmstart/evaluation';
import { p2Dataset } from '@warmstart/evaluation/testing';
import { parseConfig } from '../src/config/load';
import { learnerSettings } from '../src/eval/methods';
import { MetaLearner } from '../src/learners/meta-learner';
import { prefixedStages, stageProgress } from '../src/learners/stage-progress';
import { stageBars } from '../src/util/progress';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

/** Each stage's reports in order. */
function byStage(events: FitProgress[]): Map<string, FitProgress[]> {
  const out = new Map<string, FitProgress[]>();
  for (const e of events) if (e.stage) out.set(e.stage, [...(out.get(e.stage) ?? []), e]);
  return out;
}

describe('stageProgress', () => {
  it('reports 0 at once, one more per tick, and never past its total', () => {
    const events: FitProgress[] = [];
    const tick = stageProgress({ onProgress: (p) => events.push(p) }, 'item neighbourhood', 2);
    tick();
    tick();
    tick();
    expect(events).toEqual([0, 1, 2, 2].map((done) => ({ done, total: 2, stage: 'item neighbourhood' })));
    // Without a listener it is a no-op.
    expect(() => stageProgress({}, 'x', 1)()).not.toThrow();
  });

  it('prefixes stage names and passes training progress through', () => {
    const events: FitProgress[] = [];
    const ctx = prefixedStages({ onProgress: (p) => events.push(p) }, "ranker's ");
    ctx.onProgress!({ done: 1, total: 3, stage: 'ALS start' });
    ctx.onProgress!({ done: 2, total: 9 });
    expect(events).toEqual([
      { done: 1, total: 3, stage: "ranker's ALS start" },
      { done: 2, total: 9 },
    ]);
    expect(prefixedStages({}, 'x')).toEqual({});
  });
});

describe('stageBars (train)', () => {
  it('opens one bar per stage, ignores training progress, and stops each bar', () => {
    const log: string[] = [];
    const progress: ProgressReporter = {
      start: (label, total) => {
        log.push(`start ${label} ${total}`);
        return { update: (done) => log.push(`update ${done}`), stop: () => log.push(`stop ${label}`) };
      },
    };
    const bars = stageBars(progress);
    bars.onProgress({ done: 0, total: 2, stage: 'ALS start' });
    bars.onProgress({ done: 1, total: 2, stage: 'ALS start' });
    bars.onProgress({ done: 5, total: 10 });
    bars.onProgress({ done: 0, total: 1, stage: 'new items' });
    bars.stop();
    bars.stop();
    expect(log).toEqual([
      'start choosing: ALS start 2',
      'update 0',
      'update 1',
      'stop choosing: ALS start',
      'start choosing: new items 1',
      'update 0',
      'stop choosing: new items',
    ]);
  });
});

describe('a meta-learner fit on implicit data', () => {
  it('reports its ALS start and item neighbourhood choices as stages counted to their totals', async () => {
    const data = p2Dataset({ users: 48, items: 32, perUser: [8, 8], seed: 3, kind: 'implicit' });
    const items = itemCatalog(data.items);
    const tasks = data.users.map((u) => {
      const mine = data.ratings.filter((r) => r.userId === u.id);
      const strip = (r: (typeof mine)[number]) => ({ itemId: r.itemId, value: 1 });
      return { user: u, support: mine.slice(0, 4).map(strip), query: mine.slice(4).map(strip) };
    });
    const config = parseConfig({
      features: { user: [], item: [] },
      model: { hidden: [8], embeddingDim: 4 },
      train: { epochs: 1, patience: 1, metaBatchSize: 8 },
      evaluate: { tuneAdapt: false },
    });
    const entry = config.evaluate.learners.find((l) => l.name === 'anil-bayes')!;
    const settings = learnerSettings(config, entry, 'implicit');
    const learner = new MetaLearner(settings, config.features);
    const events: FitProgress[] = [];
    await learner.fit({
      train: tasks.slice(0, 36),
      validation: tasks.slice(36),
      items,
      users: data.users,
      seed: 0,
      kind: 'implicit',
      scale: [0, 1],
      ranks: true,
      onProgress: (p) => events.push(p),
    });
    learner.dispose();
    const stages = byStage(events);
    expect([...stages.keys()]).toEqual(expect.arrayContaining(['ALS start', 'item neighbourhood']));
    for (const [stage, reports] of stages) {
      const done = reports.map((r) => r.done);
      expect({ stage, first: done[0], last: done.at(-1) }).toEqual({
        stage,
        first: 0,
        last: reports[0]!.total,
      });
      expect(done).toEqual([...done].sort((a, b) => a - b));
    }
    // Training progress (meta-batches) still comes without a stage.
    expect(events.some((e) => !e.stage && e.epoch !== undefined)).toBe(true);
  });
});
