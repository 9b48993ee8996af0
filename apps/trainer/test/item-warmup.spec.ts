import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_WARMUP } from '@warmstart/core';
import { evaluateCommand, type EvaluateFlags } from '../src/commands/evaluate';
import { parseConfig } from '../src/config/load';
import { learnerSettings } from '../src/eval/methods';
import { MetaLearner } from '../src/learners/meta-learner';
import { createLogger } from '../src/util/logger';
import { tinyDataset } from '@warmstart/evaluation/testing';
import {
  itemCatalog,
  itemWarmupRequests,
  type ProgressReporter,
  silentProgress,
  splitP1,
  type Task,
} from '@warmstart/evaluation';

// The pure-JS backend for the (tiny) networks: deterministic and independent of the wasm binary.
process.env['WARMSTART_BACKEND'] = 'cpu';
jest.setTimeout(60_000);

const TINY = {
  model: { embeddingDim: 4, hidden: [8] },
  train: { metaBatchSize: 8, innerSteps: 1, patience: 0, epochs: 1 },
};

/** Every query rating rewritten (6 - value), support untouched. */
const flipQueries = (tasks: readonly Task[]): Task[] =>
  tasks.map((t) => ({ ...t, query: t.query.map((r) => ({ ...r, value: 6 - r.value })) }));

describe('item warm-up input', () => {
  const items = itemCatalog([
    { id: 'new1', features: { genres: ['Drama'] } },
    { id: 'new2', features: { genres: ['Comedy'] } },
    { id: 'old', features: { genres: ['Drama'] } },
  ]);
  const u1 = { id: 'u1', features: { gender: 'F' } };
  const u2 = { id: 'u2', features: { gender: 'M' } };
  const tasks: Task[] = [
    {
      user: u1,
      support: [
        { itemId: 'new1', value: 5 },
        { itemId: 'old', value: 2 },
      ],
      query: [{ itemId: 'new2', value: 1 }],
    },
    {
      user: u2,
      support: [{ itemId: 'new1', value: 3 }],
      query: [
        { itemId: 'new1', value: 4 },
        { itemId: 'new2', value: 2 },
      ],
    },
  ];
  const isNew = (id: string) => id.startsWith('new');

  it('takes the support ratings of new items only, with the rating user records', () => {
    expect(itemWarmupRequests(tasks, items, isNew)).toEqual([
      {
        item: items.get('new1'),
        interactions: [
          { user: u1, value: 5 },
          { user: u2, value: 3 },
        ],
      },
    ]);
    // new2 is rated in query sets only: it is not warmed up at all; query values are never read.
    expect(itemWarmupRequests(flipQueries(tasks), items, isNew)).toEqual(
      itemWarmupRequests(tasks, items, isNew),
    );
  });
});

describe('evaluate.itemWarmup', () => {
  it('is on by default with core defaults, and refuses unstable lr * prior naming the key set', () => {
    expect(parseConfig({}).evaluate.itemWarmup).toEqual({ enabled: true });
    // Unset options are core's DEFAULT_WARMUP (lr 0.04, prior 20: lr * prior = 0.8).
    expect(DEFAULT_WARMUP.lr * DEFAULT_WARMUP.prior).toBeLessThan(1);
    expect(parseConfig({ evaluate: { itemWarmup: { prior: 9 } } }).evaluate.itemWarmup.prior).toBe(9);
    expect(parseConfig({ evaluate: { itemWarmup: { prior: 1, lr: 0.1 } } }).evaluate.itemWarmup.lr).toBe(0.1);
    expect(() => parseConfig({ evaluate: { itemWarmup: { lr: 0.1 } } })).toThrow(
      new RegExp(
        `^evaluate\\.itemWarmup\\.lr: lr \\* prior must be below 1 \\(got 0\\.1 \\* ${DEFAULT_WARMUP.prior}\\)`,
      ),
    );
    expect(() => parseConfig({ evaluate: { itemWarmup: { prior: 50 } } })).toThrow(
      new RegExp(
        `^evaluate\\.itemWarmup\\.prior: lr \\* prior must be below 1 \\(got ${DEFAULT_WARMUP.lr} \\* 50\\)`,
      ),
    );
    expect(() => parseConfig({ evaluate: { itemWarmup: { prior: 20, lr: 0.1 } } })).toThrow(
      /^evaluate\.itemWarmup\.lr: lr \* prior must be below 1 \(got 0\.1 \* 20\): the pull towards the starting row would overshoot and diverge/,
    );
  });
});

describe('item warm-up of a fitted meta-learner (tiny data, new_item scenario)', () => {
  const dataset = tinyDataset(3);
  const items = itemCatalog(dataset.items);
  const split = splitP1(dataset, { seed: 0 });
  const tasks = split.tasks.new_item;
  const config = parseConfig({ ...TINY, evaluate: { tuneAdapt: false, learners: [{ name: 'tiny' }] } });
  const learner = new MetaLearner(learnerSettings(config, config.evaluate.learners[0]), config.features);

  beforeAll(async () => {
    await learner.fit({
      train: split.warm.train,
      validation: split.warm.validation,
      items,
      users: dataset.users,
      seed: 0,
      kind: 'explicit',
      scale: [1, 5],
    });
  });
  afterAll(() => learner.dispose());

  it('warms up exactly the new items rated in support sets, from support ratings only', () => {
    expect(tasks.length).toBeGreaterThan(3);
    const warm = learner.warmUpNewItems(tasks, items, {})!;
    const supported = new Set(tasks.flatMap((t) => t.support.map((r) => r.itemId)));
    expect([...warm.rows.keys()].sort()).toEqual([...supported].sort());
    expect(warm.rows.size).toBeGreaterThan(0);
    for (const id of warm.rows.keys()) expect(split.newItems.has(id)).toBe(true);
    expect(warm.stats.interactions).toBe(tasks.reduce((n, t) => n + t.support.length, 0));

    // Other query values: bit-identical rows. Other support values: other rows.
    const same = learner.warmUpNewItems(flipQueries(tasks), items, {})!;
    for (const [id, row] of warm.rows) expect(Array.from(same.rows.get(id)!)).toEqual(Array.from(row));
    const flippedSupport = tasks.map((t) => ({
      ...t,
      support: t.support.map((r) => ({ ...r, value: 6 - r.value })),
    }));
    const other = learner.warmUpNewItems(flippedSupport, items, {})!;
    expect([...warm.rows].some(([id, row]) => row.some((v, k) => v !== other.rows.get(id)![k]))).toBe(true);
  });

  it('changes the predictions, which still do not depend on query values', async () => {
    const plain = await learner.predict(tasks, items);
    const warmed = (await learner.predictWithItemWarmup(tasks, items, {}))!;
    expect(warmed.predictions.map((p) => p.length)).toEqual(plain.map((p) => p.length));
    const maxDiff = Math.max(
      ...warmed.predictions.flatMap((p, t) => Array.from(p, (v, i) => Math.abs(v - plain[t][i]))),
    );
    expect(maxDiff).toBeGreaterThan(1e-3);
    const flipped = (await learner.predictWithItemWarmup(flipQueries(tasks), items, {}))!;
    expect(flipped.predictions.map((p) => Array.from(p))).toEqual(
      warmed.predictions.map((p) => Array.from(p)),
    );
  });
});

describe('evaluate: the +item-warmup variants', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-warmup-'));
  const ctx = { out: () => undefined, logger: createLogger('silent'), progress: silentProgress };
  const configFile = (name: string, itemWarmup: Record<string, unknown> = {}) => {
    const path = join(dir, `${name}.json`);
    const evaluate = {
      tuneAdapt: false,
      baselines: ['global-mean'],
      itemWarmup,
      learners: [
        { name: 'tiny-anil', algorithm: 'anil' },
        { name: 'tiny-noid', algorithm: 'anil', model: { idEmbeddings: false } },
      ],
    };
    writeFileSync(path, JSON.stringify({ ...TINY, evaluate }));
    return path;
  };
  const flags = (name: string, config: string, extra: Partial<EvaluateFlags> = {}): EvaluateFlags => ({
    protocol: 'p1',
    seeds: [0],
    out: join(dir, name),
    config,
    database: join(dir, 'unused.db'),
    ...extra,
  });
  type Model = {
    name: string;
    scenarios: Record<string, Record<string, number | null>>;
    validation: { mae: number | null };
    k_shot: unknown[];
    item_warmup?: {
      of: string;
      options: Record<string, number>;
      scenarios: Record<string, { items: number; interactions: number }>;
      validation_cold_items: Record<string, { mae: number }>;
    };
  };
  const load = async () => tinyDataset(3);
  const reportOf = (name: string) =>
    JSON.parse(readFileSync(join(dir, name, 'report.json'), 'utf8')) as { models: Model[] };
  let on: Model[];
  let off: Model[];

  beforeAll(async () => {
    await evaluateCommand(flags('on', configFile('on')), ctx, load);
    await evaluateCommand(flags('off', configFile('off', { enabled: false })), ctx, load);
    on = reportOf('on').models;
    off = reportOf('off').models;
  });

  it('adds <learner>+item-warmup after learners with ID embeddings, for new-item scenarios only', () => {
    expect(on.map((m) => m.name)).toEqual(['global-mean', 'tiny-anil', 'tiny-anil+item-warmup', 'tiny-noid']);
    const base = on[1];
    const variant = on[2];
    for (const s of ['warm', 'new_user']) {
      expect(variant.scenarios[s]).toEqual({
        mae: null,
        mae_std: null,
        rmse: null,
        ndcg3: null,
        ndcg3_std: null,
        p5: null,
      });
    }
    expect(variant.validation.mae).toBeNull();
    expect(variant.k_shot).toEqual([]);
    for (const s of ['new_item', 'new_user_new_item']) {
      for (const key of ['mae', 'rmse', 'ndcg3', 'p5'])
        expect(Number.isFinite(variant.scenarios[s][key])).toBe(true);
      // warm-up changes the predictions, so the errors move
      expect(variant.scenarios[s]['mae']).not.toBeCloseTo(base.scenarios[s]['mae'] as number, 6);
    }
    const w = variant.item_warmup!;
    expect(w.of).toBe('tiny-anil');
    expect(w.options).toEqual(DEFAULT_WARMUP);
    expect(Object.keys(w.scenarios)).toEqual(['new_item', 'new_user_new_item']);
    expect(w.scenarios['new_item'].items).toBeGreaterThan(0);
    expect(w.scenarios['new_item'].interactions).toBeGreaterThanOrEqual(w.scenarios['new_item'].items);
    expect(Number.isFinite(w.validation_cold_items['without'].mae)).toBe(true);
    expect(w.validation_cold_items['with'].mae).not.toBeCloseTo(w.validation_cold_items['without'].mae, 6);
    // report.html lists it, never in bold (not like-for-like with the P1 rows)
    const row = readFileSync(join(dir, 'on', 'report.html'), 'utf8')
      .split('\n')
      .find((l) => l.startsWith('<tr><td>tiny-anil+item-warmup</td>'));
    expect(row).toBeDefined();
    expect(row).not.toContain('class="best"');
  });

  it('leaves every other figure unchanged, and can be turned off', () => {
    expect(off.map((m) => m.name)).toEqual(['global-mean', 'tiny-anil', 'tiny-noid']);
    const strip = (models: Model[]) => models.filter((m) => !m.item_warmup).map((m) => m.scenarios);
    expect(strip(on)).toEqual(strip(off));
  });

  it('passes its options to core and keeps not-applicable figures null through --resume', async () => {
    const config = configFile('resume', { steps: 0 });
    // Interrupted after tiny-anil (and its variant): the checkpoint holds them; tiny-noid is left.
    const controller = new AbortController();
    const stop: ProgressReporter = {
      start: () => ({ update: (done) => void (done >= 2 && controller.abort()), stop: () => undefined }),
    };
    await expect(
      evaluateCommand(flags('resume', config), { ...ctx, progress: stop }, load, controller.signal),
    ).rejects.toThrow();
    await evaluateCommand(flags('resume', config, { resume: true }), ctx, load);
    const models = reportOf('resume').models;
    expect(models.map((m) => m.name)).toEqual([
      'global-mean',
      'tiny-anil',
      'tiny-anil+item-warmup',
      'tiny-noid',
    ]);
    const variant = models[2];
    expect(variant.scenarios['warm']['mae']).toBeNull(); // not 0 after the JSON round trip
    expect(variant.item_warmup!.options).toEqual({ ...DEFAULT_WARMUP, steps: 0 });
    // 0 steps: the rows stay where the generator put them, so the figures are the learner's own
    for (const s of ['new_item', 'new_user_new_item']) {
      expect(variant.scenarios[s]['mae']).toBeCloseTo(models[1].scenarios[s]['mae'] as number, 5);
    }
  });
});
