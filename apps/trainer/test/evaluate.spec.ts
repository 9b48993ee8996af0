import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli } from '../src/cli';
import { createLogger } from '../src/util/logger';
import pino from 'pino';
import { evaluateCommand, type EvaluateFlags } from '../src/commands/evaluate';
import { openFeatureStore } from '@warmstart/feature-store';
import { tinyDataset } from '@warmstart/evaluation/testing';
import { type ProgressReporter, silentProgress } from '@warmstart/evaluation';

// The pure-JS backend for the (tiny) networks: deterministic and independent of the wasm binary.
process.env['WARMSTART_BACKEND'] = 'cpu';
jest.setTimeout(60_000);

function cli(lines: string[]) {
  return buildCli({
    ctx: { out: (l) => lines.push(l), logger: createLogger('silent'), progress: silentProgress },
    loadDataset: async () => tinyDataset(3),
    writeErr: () => undefined,
  });
}

describe('evaluate --protocol p1', () => {
  it('prints the terminal table with a spread for several seeds and none for one seed', async () => {
    const table = async (seeds: string) => {
      const lines: string[] = [];
      const out = mkdtempSync(join(tmpdir(), 'eval-'));
      await cli(lines).parseAsync(['evaluate', '--seeds', seeds, '--out', out, '--methods', 'item-bias'], {
        from: 'user',
      });
      return lines.join('\n');
    };
    const two = await table('0,1');
    const one = await table('0');
    expect(two).toMatch(/item-bias\s+\d\.\d{4}±\d\.\d{3} \/ \d\.\d{4}±\d\.\d{3}/);
    expect(one).toMatch(/item-bias\s+\d\.\d{4} \/ \d\.\d{4}/);
    expect(one).not.toContain('±');
  });

  it('writes report.json with the stable schema, report.html and SVG charts', async () => {
    const out = mkdtempSync(join(tmpdir(), 'eval-'));
    const lines: string[] = [];
    const args = [
      'evaluate',
      '--seeds',
      '0,1',
      '--out',
      out,
      '--methods',
      'global-mean,item-bias,user-item-bias',
    ];
    await cli(lines).parseAsync(args, { from: 'user' });
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.protocol).toBe('p1');
    expect(report.dataset).toBe('tiny');
    expect(report.seeds).toEqual([0, 1]);
    expect(Object.keys(report.tasks)).toEqual(['warm', 'new_user', 'new_item', 'new_user_new_item']);
    // tasks.warm counts the scored (warm-test) tasks; splits has every warm task
    expect(report.tasks.warm).toBe(report.splits.warm_test);
    expect(report.tasks.warm).toBeGreaterThan(0);
    expect(
      report.splits.warm_train + report.splits.warm_validation + report.splits.warm_test,
    ).toBeGreaterThan(10);
    expect(report.models.map((m: { name: string }) => m.name)).toEqual([
      'global-mean',
      'item-bias',
      'user-item-bias',
    ]);
    for (const m of report.models) {
      expect(m.backend).toBe('js');
      expect(typeof m.train_seconds).toBe('number');
      for (const s of Object.values(m.scenarios) as Record<string, number>[]) {
        expect(Object.keys(s).sort()).toEqual(['mae', 'mae_std', 'ndcg3', 'ndcg3_std', 'p5', 'rmse']);
      }
    }
    // the data has a per-user offset and genre taste: the support-set user bias must help new users
    const byName = Object.fromEntries(report.models.map((m: { name: string }) => [m.name, m]));
    expect(byName['user-item-bias'].scenarios.new_user.mae).toBeLessThan(
      byName['global-mean'].scenarios.new_user.mae,
    );
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('class="best"');
    expect(existsSync(join(out, 'kshot-mae.svg'))).toBe(true);
    expect(existsSync(join(out, '.evaluate-checkpoint.json'))).toBe(false);
    expect(lines.join('\n')).toMatch(/^user-item-bias /m);
  });

  it('rejects a bad flag naming it', async () => {
    await expect(
      cli([]).parseAsync(['evaluate', '--out', '/tmp/x', '--seeds', '1,b'], { from: 'user' }),
    ).rejects.toThrow(/--seeds/);
    await expect(
      cli([]).parseAsync(['evaluate', '--out', '/tmp/x', '--methods', 'nope'], { from: 'user' }),
    ).rejects.toThrow(/--methods: unknown method "nope"/);
  });
});

describe('evaluate on the feature store', () => {
  it("labels the report with --dataset-name, else the name the import recorded, else the database's name", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eval-store-'));
    const database = join(dir, 'shop-events.db');
    const config = join(dir, 'c.yaml');
    // Synthetic items are released 2020-2022: move P1's new-item year so there are warm tasks.
    writeFileSync(config, 'evaluate: { p1: { newItemYear: 2021 } }\n');
    const args = (extra: string[]) => [...extra, '--database', database];
    const lines: string[] = [];
    const real = () =>
      buildCli({
        ctx: { out: (l) => lines.push(l), logger: createLogger('silent'), progress: silentProgress },
        writeErr: () => undefined,
      });
    await real().parseAsync(
      args(['import', 'synthetic', '--users', '60', '--items', '40', '--interactions', '1800']),
      { from: 'user' },
    );
    const evaluate = (out: string, extra: string[]) =>
      real().parseAsync(
        args([
          'evaluate',
          '--seeds',
          '0',
          '--methods',
          'global-mean',
          '--config',
          config,
          '--out',
          out,
          ...extra,
        ]),
        { from: 'user' },
      );
    await evaluate(join(dir, 'named'), ['--dataset-name', 'shop-2026-q1']);
    const named = JSON.parse(readFileSync(join(dir, 'named', 'report.json'), 'utf8'));
    expect(named.dataset).toBe('shop-2026-q1');
    expect(named.tasks.warm).toBeGreaterThan(0);
    await evaluate(join(dir, 'default'), []);
    expect(JSON.parse(readFileSync(join(dir, 'default', 'report.json'), 'utf8')).dataset).toBe('synthetic');
    // A store whose import recorded no name (imported before names existed): the file's name.
    const store = await openFeatureStore(database);
    try {
      const { name: _recorded, ...unnamed } = await store.datasetProfile();
      await store.setDatasetProfile(unnamed);
    } finally {
      await store.close();
    }
    await evaluate(join(dir, 'unnamed'), []);
    expect(JSON.parse(readFileSync(join(dir, 'unnamed', 'report.json'), 'utf8')).dataset).toBe('shop-events');
  });
});

describe('evaluate with networks', () => {
  it('meta-trains a tiny learner and the fine-tuned net, reports finite metrics, loss curves and progress', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eval-net-'));
    const config = join(dir, 'tiny.yaml');
    writeFileSync(
      config,
      [
        'model: { embeddingDim: 4, hidden: [8] }',
        'train: { metaBatchSize: 8, innerSteps: 1, patience: 0 }',
        'evaluate:',
        '  tuneAdapt: false',
        '  fineTuned: { epochs: 1 }',
        '  baselines: [global-mean, fine-tuned-net]',
        '  learners: [{ name: tiny-anil, algorithm: anil, epochs: 1 }]',
      ].join('\n'),
    );
    const updates: { label: string; done: number; info?: Record<string, number | string> }[] = [];
    const progress: ProgressReporter = {
      start: (label) => ({
        update: (done, info) => void updates.push({ label, done, info }),
        stop: () => {},
      }),
    };
    const out = join(dir, 'out');
    await buildCli({
      ctx: { out: () => undefined, logger: createLogger('silent'), progress },
      loadDataset: async () => tinyDataset(3),
      writeErr: () => undefined,
    }).parseAsync(['evaluate', '--seeds', '0', '--out', out, '--config', config], { from: 'user' });

    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.models.map((m: { name: string }) => m.name)).toEqual([
      'global-mean',
      'fine-tuned-net',
      'tiny-anil',
      'tiny-anil+item-warmup', // evaluate.itemWarmup is on by default (test/item-warmup.spec.ts)
    ]);
    for (const name of ['fine-tuned-net', 'tiny-anil']) {
      const m = report.models.find((x: { name: string }) => x.name === name);
      expect(m.backend).not.toBe('js');
      for (const [scenario, metrics] of Object.entries(m.scenarios) as [string, Record<string, number>][]) {
        expect(report.tasks[scenario]).toBeGreaterThan(0);
        for (const key of ['mae', 'rmse', 'ndcg3', 'p5']) expect(Number.isFinite(metrics[key])).toBe(true);
        expect(metrics.mae).toBeGreaterThan(0);
        expect(metrics.mae).toBeLessThan(4);
      }
      expect(Number.isFinite(m.validation.mae)).toBe(true);
      expect(m.loss_history).toHaveLength(1);
      expect(m.loss_history[0].values.length).toBeGreaterThan(0);
      expect(m.loss_history[0].values.every(Number.isFinite)).toBe(true);
    }
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).not.toContain('No model in this run reports a training loss');
    expect(existsSync(join(out, 'loss.svg'))).toBe(true);
    // One smoothed line per meta-learner (mean over seeds); the non-meta fine-tuned net is left out.
    const loss = readFileSync(join(out, 'loss.svg'), 'utf8');
    expect(loss).toContain('series: tiny-anil');
    expect(loss).not.toContain('fine-tuned-net');
    expect(html).toContain('Meta-training loss (smoothed)');

    // Progress moves inside each network's training: fractional steps between the method's
    // start and end, with its name, epoch and batch.
    const inside = (method: string) =>
      updates.filter(
        (u) => u.label === 'evaluate p1' && u.info?.['method'] === method && !Number.isInteger(u.done),
      );
    const anil = inside('tiny-anil');
    expect(anil.length).toBeGreaterThanOrEqual(2);
    for (const u of anil) {
      expect(u.done).toBeGreaterThan(2);
      expect(u.done).toBeLessThan(3);
      expect(u.info?.['epoch']).toBe(1);
      expect(u.info?.['batch']).toMatch(/^\d+\/\d+$/);
    }
    expect(anil.map((u) => u.done)).toEqual([...anil.map((u) => u.done)].sort((a, b) => a - b));
    expect(inside('fine-tuned-net').every((u) => u.done > 1 && u.done < 2)).toBe(true);
    expect(inside('fine-tuned-net').length).toBeGreaterThanOrEqual(2);
    expect(inside('global-mean')).toEqual([]);
  });
});

describe('evaluate --resume', () => {
  const dir = mkdtempSync(join(tmpdir(), 'eval-resume-'));
  const out = join(dir, 'out');
  const checkpoint = join(out, '.evaluate-checkpoint.json');
  const flags = (extra: Partial<EvaluateFlags> = {}): EvaluateFlags => ({
    protocol: 'p1',
    seeds: [0],
    out,
    methods: ['global-mean', 'user-item-bias'],
    database: join(dir, 'unused.db'),
    ...extra,
  });
  const ctx = (records: { msg: string; resumed?: number }[] = []) => ({
    out: () => undefined,
    logger: pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line)) }),
    progress: {
      start: () => ({ update: () => undefined, stop: () => undefined }),
    } as ProgressReporter,
  });

  beforeAll(async () => {
    // Interrupted after the first method: the checkpoint holds global-mean for seed 0.
    const controller = new AbortController();
    const stopAfterFirst: ProgressReporter = {
      start: () => ({ update: (done) => void (done >= 1 && controller.abort()), stop: () => undefined }),
    };
    await expect(
      evaluateCommand(
        flags(),
        { ...ctx(), progress: stopAfterFirst },
        async () => tinyDataset(3),
        controller.signal,
      ),
    ).rejects.toThrow();
    const saved = JSON.parse(readFileSync(checkpoint, 'utf8'));
    expect(saved.runs.map((r: { name: string }) => r.name)).toEqual(['global-mean']);
  });

  it('refuses partial results of a different evaluation, naming what differs', async () => {
    const load = async () => tinyDataset(3);
    await expect(evaluateCommand(flags({ resume: true, seeds: [0, 1] }), ctx(), load)).rejects.toThrow(
      /--resume: the partial results in .* were computed for a different evaluation \(seeds: \[0\] then, \[0,1\] now\)/,
    );
    await expect(
      evaluateCommand(flags({ resume: true, methods: ['global-mean', 'item-bias'] }), ctx(), load),
    ).rejects.toThrow(/different evaluation \(methods: /);
    await expect(evaluateCommand(flags({ resume: true }), ctx(), async () => tinyDataset(4))).rejects.toThrow(
      /different evaluation \(dataset\); run without --resume to start over/,
    );
    const other = join(dir, 'other.yaml');
    writeFileSync(other, 'evaluate: { kShot: [1, 3] }\n');
    await expect(evaluateCommand(flags({ resume: true, config: other }), ctx(), load)).rejects.toThrow(
      /different evaluation \(config\)/,
    );
    expect(existsSync(checkpoint)).toBe(true); // refused runs leave it alone
  });

  it('reuses matching partial results', async () => {
    const records: { msg: string; resumed?: number }[] = [];
    const report = await evaluateCommand(flags({ resume: true }), ctx(records), async () => tinyDataset(3));
    expect(records.find((r) => r.msg === 'resuming from checkpoint')?.resumed).toBe(1);
    expect(
      records.filter((r) => r.msg === 'method evaluated').map((r) => (r as { method?: string }).method),
    ).toEqual(['user-item-bias']);
    expect(report.models.map((m) => m.name)).toEqual(['global-mean', 'user-item-bias']);
    expect(existsSync(checkpoint)).toBe(false);
  });

  it('refuses a checkpoint without a fingerprint', async () => {
    mkdirSync(out, { recursive: true });
    writeFileSync(checkpoint, '[]');
    await expect(evaluateCommand(flags({ resume: true }), ctx(), async () => tinyDataset(3))).rejects.toThrow(
      /has no fingerprint/,
    );
  });
});
