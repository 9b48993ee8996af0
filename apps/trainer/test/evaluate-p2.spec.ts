import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defaultDatasetLoader,
  evaluateCommand,
  storeDatasetName,
  type EvaluateFlags,
} from '../src/commands/evaluate';
import { runCli, syntheticImportArgs } from './support/run-cli';
import { createLogger } from '../src/util/logger';
import { p2Dataset } from '@warmstart/evaluation/testing';
import { type Dataset, type ProgressReporter, silentProgress } from '@warmstart/evaluation';

// The pure-JS backend for the (tiny) networks: deterministic and independent of the wasm binary.
process.env['WARMSTART_BACKEND'] = 'cpu';
jest.setTimeout(180_000);

/** Small networks and one epoch: the test checks the pipeline, not the figures. */
const FAST = {
  model: { embeddingDim: 8, hidden: [16] },
  train: { epochs: 1, patience: 0 },
  evaluate: {
    tuneAdapt: false,
    fineTuned: { epochs: 1 },
    learners: [{ name: 'anil', algorithm: 'anil', innerRidge: null }],
    p2: { kShot: [1, 3] },
  },
};

async function evaluateP2(dataset: Dataset, methods?: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'eval-p2-'));
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify(FAST));
  const lines: string[] = [];
  const flags: EvaluateFlags = {
    protocol: 'p2',
    seeds: [0, 1],
    out: join(dir, 'out'),
    config,
    database: join(dir, 'unused.db'),
    ...(methods && { methods }),
  };
  const ctx = { out: (l: string) => lines.push(l), logger: createLogger('silent'), progress: silentProgress };
  await evaluateCommand(flags, ctx, async () => dataset);
  const report = JSON.parse(readFileSync(join(dir, 'out', 'report.json'), 'utf8'));
  const html = readFileSync(join(dir, 'out', 'report.html'), 'utf8');
  return { report, html, lines };
}

const SCENARIOS = ['warm', 'new_user', 'new_item', 'new_user_new_item'];

describe('evaluate --protocol p2 (end to end, no config beyond small epochs)', () => {
  it('explicit ratings without any features: ranking and rating metrics for every method', async () => {
    const { report, html, lines } = await evaluateP2(p2Dataset({ users: 90 }));
    expect(report.protocol).toBe('p2');
    expect(report.kind).toBe('explicit');
    expect(report.no_times).toBe(false);
    expect(report.split_basis).toEqual({ new_items: 'first-interaction', new_users: 'first-interaction' });
    expect(report.relevance_threshold).toBeCloseTo(3.8);
    // no features in the data: both sides inferred, and empty
    expect(report.config.features).toEqual({ user: [], item: [] });
    const names = report.models.map((m: { name: string }) => m.name);
    expect(names).toEqual(expect.arrayContaining(['global-mean', 'item-bias', 'fine-tuned-net', 'anil']));
    for (const m of report.models) {
      for (const s of SCENARIOS) {
        const x = m.scenarios[s];
        for (const key of [
          'recall20',
          'recall20_std',
          'ndcg20',
          'ndcg20_std',
          'hr10',
          'hr10_std',
          'mae',
          'mae_std',
        ]) {
          expect(typeof x[key]).toBe('number');
        }
        expect(x.recall20).toBeGreaterThanOrEqual(0);
        expect(x.recall20).toBeLessThanOrEqual(1);
        expect(x.ranking_tasks).toBeGreaterThan(0);
      }
      expect(m.k_shot.map((p: { k: number }) => p.k)).toEqual([1, 3]);
      expect(m.k_shot_new_items.map((p: { k: number }) => p.k)).toEqual([1, 3]);
      for (const p of [...m.k_shot, ...m.k_shot_new_items]) {
        expect(typeof p.recall20).toBe('number');
        expect(typeof p.mae).toBe('number');
      }
      expect(typeof m.validation.ndcg20).toBe('number');
    }
    // users mostly interact with their taste group: item-based ranking beats a constant's popularity
    const by = Object.fromEntries(report.models.map((m: { name: string }) => [m.name, m]));
    expect(by['item-bias'].scenarios.warm.mae).toBeLessThan(by['global-mean'].scenarios.warm.mae + 0.2);
    // printed before the run: the split, then a warning naming the key for each small scenario
    const text = lines.join('\n');
    expect(text).toMatch(/^protocol P2 on p2-synthetic: explicit ratings on \[1, 5\]/m);
    expect(text).toMatch(/scored tasks \(seed 0\): warm-test \d+, new_user \d+/);
    expect(text).toMatch(/features: user none \(IDs and biases only\) \(inferred\); item none/);
    expect(text).toMatch(
      /^warning: warm has \d+ scored tasks, fewer than 50: .* raise evaluate\.p2\.testFraction/m,
    );
    expect(text).toMatch(/^Recall@20 \/ NDCG@20 +warm/m);
    expect(text).toMatch(/^MAE \/ nDCG@3 +warm/m);
    expect(html).toContain('<title>warmstart P2 report: p2-synthetic</title>');
    expect(html).toContain('Recall@20');
  });

  it('implicit feedback without times: seeded random split, said so in the report', async () => {
    const data = p2Dataset({ kind: 'implicit', times: false, users: 90, itemFeatures: true });
    const { report, html } = await evaluateP2(data, ['popularity', 'item-knn', 'anil']);
    expect(report.kind).toBe('implicit');
    expect(report.no_times).toBe(true);
    expect(report.split_basis).toEqual({ new_items: 'random', new_users: 'random' });
    expect(report.notes.join(' ')).toMatch(/no event times/);
    expect(html).toMatch(/no event times/);
    expect(report.config.features.item).toEqual([{ name: 'genre', kind: 'categorical', maxVocab: 200 }]);
    for (const m of report.models) {
      expect(m.scenarios.warm.mae).toBeNull(); // implicit: no rating metrics (NaN -> null)
      expect(m.scenarios.new_user.recall20).toBeGreaterThanOrEqual(0);
      expect(m.k_shot_new_items.length).toBe(2);
    }
    // taste groups make co-occurrence informative: item-knn ranks warm items better than popularity
    const by = Object.fromEntries(report.models.map((m: { name: string }) => [m.name, m]));
    expect(by['item-knn'].scenarios.warm.ndcg20).toBeGreaterThan(by['popularity'].scenarios.warm.ndcg20);
  });
});

describe("the report's dataset name when reading the feature store", () => {
  it("is the database's file or database name unless --dataset-name says otherwise", () => {
    expect(storeDatasetName('./data/lastfm.db')).toBe('lastfm');
    expect(storeDatasetName('/tmp/ml-100k.sqlite')).toBe('ml-100k');
    expect(storeDatasetName('postgresql://u:secret@db.example:5432/shop_events?schema=x')).toBe(
      'shop_events',
    );
    expect(storeDatasetName('postgresql://db.example')).toBe('postgresql');
  });

  it("is the name the import recorded in the store: a generic import's file or --dataset-name, the synthetic importer's own", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eval-name-'));
    const plays = join(dir, 'user_plays.csv');
    writeFileSync(plays, 'user_id,item_id\nu1,a\nu2,a\nu2,b\n');
    const load = (database: string, datasetName?: string) =>
      defaultDatasetLoader({
        protocol: 'p2',
        seeds: [0],
        out: dir,
        database,
        ...(datasetName && { datasetName }),
      });
    const byFile = join(dir, 'store-a.db');
    await runCli(['import', 'csv', '--interactions', plays, '--kind', 'implicit', '--database', byFile]);
    expect((await load(byFile)).name).toBe('user_plays');
    expect((await load(byFile, 'override')).name).toBe('override');
    const named = join(dir, 'store-b.db');
    await runCli([
      'import',
      'csv',
      '--interactions',
      plays,
      '--kind',
      'implicit',
      '--dataset-name',
      'shop-plays',
      '--database',
      named,
    ]);
    expect((await load(named)).name).toBe('shop-plays');
    const synthetic = join(dir, 'store-c.db');
    await runCli(syntheticImportArgs(synthetic, 50));
    expect((await load(synthetic)).name).toBe('synthetic');
  });
});

describe('evaluate --protocol p2 --resume', () => {
  it('reuses the methods finished before an interruption, NaN figures included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eval-p2-resume-'));
    const data = p2Dataset({ users: 70 });
    const flags: EvaluateFlags = {
      protocol: 'p2',
      seeds: [0],
      out: join(dir, 'out'),
      database: join(dir, 'unused.db'),
      methods: ['global-mean', 'item-knn'],
    };
    const controller = new AbortController();
    // Ctrl-C as soon as the first method is done.
    const stopAfterFirst: ProgressReporter = {
      start: () => ({
        update: (done) => (done >= 1 ? controller.abort() : undefined),
        stop: () => undefined,
      }),
    };
    const ctx = (progress: ProgressReporter) => ({
      out: () => undefined,
      logger: createLogger('silent'),
      progress,
    });
    await expect(
      evaluateCommand(flags, ctx(stopAfterFirst), async () => data, controller.signal),
    ).rejects.toThrow();
    const checkpoint = JSON.parse(readFileSync(join(dir, 'out', '.evaluate-checkpoint.json'), 'utf8'));
    expect(checkpoint.runs.map((r: { name: string }) => r.name)).toEqual(['global-mean']);
    const report = await evaluateCommand({ ...flags, resume: true }, ctx(silentProgress), async () => data);
    expect(report.models.map((m) => m.name)).toEqual(['global-mean', 'item-knn']);
    const first = checkpoint.runs[0];
    const resumed = report.models[0];
    expect(resumed.train_seconds).toBe(first.trainSeconds); // not re-run
    expect(resumed.scenarios.new_item.recall20).toBeCloseTo(first.scenarios.new_item.recall20, 10);
    expect(resumed.k_shot_new_items!.map((p) => p.k)).toEqual([1, 3, 5, 10, 20]);
    expect(existsSync(join(dir, 'out', '.evaluate-checkpoint.json'))).toBe(false);
  });
});
