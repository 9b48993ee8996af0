import * as tf from '@tensorflow/tfjs-core';
import { loadModel } from '@warmstart/core';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFeatureStore, type FeatureStore } from '@warmstart/feature-store';
import pino from 'pino';
import { trainCommand, type TrainOutcome } from '../src/commands/train';
import { readSnapshot } from '../src/data/from-store';
import { trainingTasks } from '../src/train/tasks';
import { rescorePromoted, type PromotionDecision } from '../src/train/promotion';
import { loadConfig } from '../src/config/load';
import { EVIDENCE_GROWTHS } from '../src/learners/als-embeddings';
import { runCli, syntheticImportArgs } from './support/run-cli';
import { itemCatalog, silentProgress } from '@warmstart/evaluation';

// The pure-JS backend: tiny models, deterministic, and independent of the wasm binary.
process.env['WARMSTART_BACKEND'] = 'cpu';
jest.setTimeout(60_000);

/**
 * Promotion compares the candidate with the promoted model on the SAME validation users: the
 * promoted model is re-scored from its artifact; the figures the registry stored for it (measured
 * on its own run's split) do not decide.
 */
describe('train: promotion on the same validation split', () => {
  const dir = mkdtempSync(join(tmpdir(), 'train-promotion-'));
  const database = join(dir, 'w.db');
  const artifacts = join(dir, 'models');
  const write = (name: string, lines: string[]): string => {
    const file = join(dir, name);
    writeFileSync(file, lines.join('\n'));
    return file;
  };
  // A decent tiny model: the default anil head and the bias backbone, one epoch.
  const good = write('good.yaml', [
    'model: { embeddingDim: 4, hidden: [8] }',
    'train: { epochs: 1, pretrainEpochs: 0, patience: 0, metaBatchSize: 16, maxRatings: 30 }',
  ]);
  // The same model crippled: no closed-form item biases and an outer rate 300x the default, which
  // overshoots in its one epoch: clearly worse.
  const weak = write('weak.yaml', [
    'model: { embeddingDim: 4, hidden: [8], initItemBiases: false }',
    'train: { epochs: 1, pretrainEpochs: 0, patience: 0, metaBatchSize: 16, maxRatings: 30, outerLr: 0.3 }',
  ]);
  let store: FeatureStore;

  async function train(
    config: string,
    promote = false,
  ): Promise<{ outcome: TrainOutcome; out: string; logs: Record<string, unknown>[] }> {
    const lines: string[] = [];
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void logs.push(JSON.parse(l)) });
    const outcome = await trainCommand(
      { database, artifacts, config, promote },
      { out: (l: string) => lines.push(l), logger, progress: silentProgress },
    );
    return { outcome, out: lines.join('\n'), logs };
  }

  /** Promotes a registry record for `artifactUri` whose stored validation metrics are `stored`. */
  async function promoteWithStoredMetrics(
    modelId: string,
    artifactUri: string,
    stored: Record<string, number>,
  ): Promise<void> {
    await store.registry.registerModel({
      modelId,
      algorithm: 'anil',
      artifactUri,
      metrics: { validation: stored },
    });
    await store.registry.promote(modelId);
  }

  const lastRunPromotion = async (): Promise<PromotionDecision> => {
    const [latest] = await store.runs.list({ limit: 1 });
    expect(latest.status).toBe('succeeded');
    return (latest.metrics as { promotion: PromotionDecision }).promotion;
  };

  beforeAll(async () => {
    await runCli(syntheticImportArgs(database));
    store = await openFeatureStore(database);
  });

  afterAll(async () => {
    await store.close();
  });

  let weakModel: TrainOutcome;
  let goodModel: TrainOutcome;

  it('replaces a promoted model whose stored metrics look unbeatable but which is worse on the current split', async () => {
    weakModel = (await train(weak, true)).outcome;
    // The registry claims a near-perfect model; its artifact is the weak one.
    await promoteWithStoredMetrics('weak-tampered', weakModel.modelId, {
      mae: 0.01,
      rmse: 0.01,
      ndcg3: 0.999,
      p5: 1,
    });

    const { outcome, out, logs } = await train(good);
    goodModel = outcome;
    const d = outcome.promotion;
    expect(d.basis).toBe('same-split');
    expect(d.promotedModelId).toBe('weak-tampered');
    expect(d.promotedStored).toBe(0.01);
    // Re-scored on the same users it reproduces the weak model's own validation MAE (same split).
    expect(d.promotedValue).toBeCloseTo(weakModel.validation.mae, 6);
    expect(d.candidateValue).toBe(outcome.validation.mae);
    expect(d.candidateValue).toBeLessThan(d.promotedValue!);
    expect(outcome.promoted).toBe(true);
    expect((await store.registry.getPromoted())?.modelId).toBe(outcome.modelId);
    // Both figures in the result line, the log line and the run record.
    expect(out).toContain(
      `promoted (mae ${d.candidateValue.toFixed(4)} vs ${d.promotedValue!.toFixed(4)} for weak-tampered on the same ${d.validationTasks} validation users)`,
    );
    const logged = logs.find((r) => r['msg'] === 'promoted')!;
    expect(logged).toMatchObject({
      candidateValue: d.candidateValue,
      promotedValue: d.promotedValue,
      basis: 'same-split',
    });
    expect(await lastRunPromotion()).toEqual(d);
  });

  it('keeps a promoted model that is better on the current split even if its stored metrics look worse', async () => {
    await promoteWithStoredMetrics('good-tampered', goodModel.modelId, {
      mae: 99,
      rmse: 99,
      ndcg3: 0,
      p5: 0,
    });

    const { outcome, out } = await train(weak);
    const d = outcome.promotion;
    expect(d.basis).toBe('same-split');
    expect(d.promotedStored).toBe(99);
    expect(d.promotedValue).toBeCloseTo(goodModel.validation.mae, 6);
    expect(d.candidateValue).toBeGreaterThan(d.promotedValue!);
    expect(outcome.promoted).toBe(false);
    expect((await store.registry.getPromoted())?.modelId).toBe('good-tampered');
    expect(out).toMatch(/not promoted: mae \S+ vs \S+ for good-tampered on the same \d+ validation users/);
    expect((await lastRunPromotion()).promoted).toBe(false);
  });

  it('--promote still forces promotion, and records both figures', async () => {
    const { outcome, out } = await train(weak, true);
    expect(outcome.promoted).toBe(true);
    expect(outcome.promotion).toMatchObject({ forced: true, better: false, basis: 'same-split' });
    expect(out).toMatch(/promoted \(--promote; mae \S+ vs \S+ for good-tampered/);
    expect((await store.registry.getPromoted())?.modelId).toBe(outcome.modelId);
  });

  it('promotes the candidate, with a warning and the reason recorded, when the promoted artifact is missing', async () => {
    await promoteWithStoredMetrics('ghost', 'no-such-artifact', {
      mae: 0.01,
      rmse: 0.01,
      ndcg3: 0.999,
      p5: 1,
    });

    const { outcome, out, logs } = await train(good);
    const d = outcome.promotion;
    expect(d.basis).toBe('fallback');
    expect(d.promotedValue).toBeNull();
    expect(d.fallbackReason).toMatch(
      /cannot load its artifact: .*no-such-artifact.*manifest.json is missing/,
    );
    expect(outcome.promoted).toBe(true);
    expect((await store.registry.getPromoted())?.modelId).toBe(outcome.modelId);
    expect(out).toMatch(/promoted \(ghost could not be evaluated: cannot load its artifact/);
    const warning = logs.find((r) => r['level'] === 40 && 'reason' in r)!;
    expect(warning['msg']).toMatch(/promoted model cannot be evaluated/);
    expect(warning['reason']).toBe(d.fallbackReason);
    expect((await lastRunPromotion()).fallbackReason).toBe(d.fallbackReason);
  });

  it('re-scoring frees every tensor of the loaded model, and reports a corrupt artifact instead of throwing', async () => {
    const config = loadConfig(good);
    const dataset = await readSnapshot(store, 'feature-store', (await store.latestEventTime())!);
    const { validation } = trainingTasks(
      dataset,
      config.train,
      config.train.seed,
      config.train.validationFraction,
    );
    const items = itemCatalog(dataset.items);
    const before = tf.memory().numTensors;
    const scored = await rescorePromoted(
      { modelId: 'x', artifactUri: goodModel.modelId },
      artifacts,
      validation,
      items,
      'mae',
    );
    expect(tf.memory().numTensors).toBe(before);
    expect('metrics' in scored && scored.metrics.mae).toBeCloseTo(goodModel.validation.mae, 6);

    mkdirSync(join(artifacts, 'corrupt'));
    writeFileSync(join(artifacts, 'corrupt', 'manifest.json'), '{ not json');
    const corrupt = await rescorePromoted(
      { modelId: 'y', artifactUri: 'corrupt' },
      artifacts,
      validation,
      items,
      'mae',
    );
    expect(corrupt).toEqual({ error: expect.stringMatching(/cannot load its artifact/) });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('train: the bias baselines on the same validation users', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-baselines-'));
  const database = join(dir, 'w.db');
  const artifacts = join(dir, 'models');
  const write = (name: string, lines: string[]) => {
    const p = join(dir, name);
    writeFileSync(p, lines.join('\n'));
    return p;
  };
  const crippled = write('crippled.yaml', [
    'model: { embeddingDim: 4, hidden: [8], initItemBiases: false }',
    'train: { epochs: 1, pretrainEpochs: 0, patience: 0, metaBatchSize: 16, maxRatings: 30, outerLr: 0.3 }',
  ]);

  beforeAll(async () => {
    await runCli(syntheticImportArgs(database));
  });

  it('records item-bias and user-item-bias next to the candidate and says when one beats it', async () => {
    const lines: string[] = [];
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void logs.push(JSON.parse(l)) });
    const outcome = await trainCommand(
      { database, artifacts, config: crippled },
      { out: (l: string) => lines.push(l), logger, progress: silentProgress },
    );
    expect(outcome.baselines.map((b) => b.name)).toEqual(['item-bias', 'user-item-bias']);
    for (const b of outcome.baselines) {
      expect(b.metric).toBe('mae');
      expect(Number.isFinite(b.metrics.mae)).toBe(true);
      expect(b.beatsCandidate).toBe(b.metrics.mae < outcome.validation.mae);
    }
    // The crippled candidate (no item biases, an overshooting outer rate) loses to user-item-bias.
    const uib = outcome.baselines.find((b) => b.name === 'user-item-bias')!;
    expect(uib.beatsCandidate).toBe(true);
    expect(lines.join('\n')).toMatch(/baseline user-item-bias is better on validation \(mae \d\.\d{4}\)/);
    expect(logs.some((l) => l.baseline === 'user-item-bias' && l.level === 40)).toBe(true);
    const store = await openFeatureStore(database);
    try {
      const record = await store.registry.getModel(outcome.modelId);
      expect(record?.metrics['baseline.user-item-bias'].mae).toBeCloseTo(uib.metrics.mae, 6);
      const [run] = await store.runs.list({ limit: 1 });
      expect((run.metrics as { baselines: { name: string }[] }).baselines.map((b) => b.name)).toEqual([
        'item-bias',
        'user-item-bias',
      ]);
    } finally {
      await store.close();
    }
  });

  it('on implicit feedback compares NDCG@20 with popularity and item-kNN on the same validation users', async () => {
    const implicitDb = join(dir, 'implicit.db');
    await runCli([...syntheticImportArgs(implicitDb, 80), '--kind', 'implicit']);
    const config = write('implicit.yaml', [
      'model: { embeddingDim: 4, hidden: [8] }',
      'train: { epochs: 1, metaBatchSize: 16, maxRatings: 30 }',
    ]);
    const lines: string[] = [];
    const outcome = await trainCommand(
      { database: implicitDb, artifacts, config },
      { out: (l: string) => lines.push(l), logger: pino({ level: 'silent' }), progress: silentProgress },
    );
    const candidate = (outcome.validation as { ndcg20?: number }).ndcg20!;
    expect(candidate).toBeGreaterThan(0);
    expect(candidate).toBeLessThanOrEqual(1);
    expect(outcome.baselines.map((b) => [b.name, b.metric])).toEqual([
      ['popularity', 'ndcg20'],
      ['item-knn', 'ndcg20'],
    ]);
    for (const b of outcome.baselines) {
      expect(b.metrics.ndcg20).toBeGreaterThan(0);
      expect(b.beatsCandidate).toBe(b.metrics.ndcg20 > candidate);
    }
    // No within-query MAE or nDCG@3: a query of positives only has no error or order to measure.
    expect(lines.join('\n')).toMatch(/validation NDCG@20 \d\.\d{4};/);
    expect(lines.join('\n')).not.toMatch(/MAE/);
    const store = await openFeatureStore(implicitDb);
    try {
      const record = await store.registry.getModel(outcome.modelId);
      expect(record?.metrics['validation'].ndcg20).toBeCloseTo(candidate, 6);
      expect(record?.metrics['baseline.item-knn'].ndcg20).toBeCloseTo(outcome.baselines[1].metrics.ndcg20, 6);
    } finally {
      await store.close();
    }
    // The artifact serves with the evidence growth chosen with the ALS start.
    const model = await loadModel(join(artifacts, outcome.modelId));
    try {
      expect(EVIDENCE_GROWTHS).toContain(model.adaptDefaults.evidenceGrowth);
    } finally {
      model.dispose();
    }
    // Promotion compares NDCG@20 (never the within-query MAE of positives): the next run re-ranks
    // the promoted model on the same validation users and finds the figure it was promoted with.
    const again = await trainCommand(
      { database: implicitDb, artifacts, config },
      { out: () => undefined, logger: pino({ level: 'silent' }), progress: silentProgress },
    );
    expect(again.promotion).toMatchObject({
      metric: 'ndcg20',
      basis: 'same-split',
      promotedModelId: outcome.modelId,
    });
    expect(again.promotion.candidateValue).toBeCloseTo((again.validation as { ndcg20: number }).ndcg20, 6);
    expect(again.promotion.promotedValue).toBeCloseTo(candidate, 4);
    expect(again.promotion.promotedValidation?.ndcg20).toBeCloseTo(candidate, 4);
  });

  it('resolves train.newItems: the fold-in stores the user base in the artifact, auto records both ways', async () => {
    const implicitDb = join(dir, 'implicit-new-items.db');
    // Enough interactions per validation user for the choice to score tasks at every shot.
    const sizes = ['--users', '200', '--items', '40', '--interactions', '6000', '--seed', '1'];
    await runCli(['import', 'synthetic', ...sizes, '--database', implicitDb, '--kind', 'implicit']);
    const trained = async (newItems: string) => {
      const config = write(`new-items-${newItems}.yaml`, [
        'features: { user: [], item: [] }',
        'model: { embeddingDim: 4, hidden: [8] }',
        `train: { epochs: 1, metaBatchSize: 16, maxRatings: 30, newItems: ${newItems} }`,
      ]);
      const lines: string[] = [];
      const outcome = await trainCommand(
        { database: implicitDb, artifacts, config },
        { out: (l: string) => lines.push(l), logger: pino({ level: 'silent' }), progress: silentProgress },
      );
      const model = await loadModel(join(artifacts, outcome.modelId));
      const base = model.foldInBase;
      model.dispose();
      return { outcome, line: lines.join('\n'), base };
    };
    const folded = await trained('fold-in');
    expect(folded.outcome.newItems).toEqual({ way: 'fold-in' });
    expect(folded.base?.users).toBeGreaterThan(0);
    expect(folded.line).toMatch(/; new items: fold-in/);
    const warmed = await trained('warm-up');
    expect(warmed.outcome.newItems).toEqual({ way: 'warm-up' });
    expect(warmed.base).toBeNull();
    const auto = await trained('auto');
    const scores = auto.outcome.newItems.validationNdcg20!;
    expect(Object.keys(scores).sort()).toEqual(['fold-in', 'warm-up']);
    for (const v of Object.values(scores)) expect(v).toBeGreaterThanOrEqual(0);
    expect(auto.outcome.newItems.way).toBe(scores['fold-in'] > scores['warm-up'] ? 'fold-in' : 'warm-up');
    expect(auto.base !== null).toBe(auto.outcome.newItems.way === 'fold-in');
    expect(auto.line).toMatch(
      /; new items: (fold-in|warm-up) \(validation NDCG@20 on pseudo-new items \d\.\d{4}/,
    );
    const store = await openFeatureStore(implicitDb);
    try {
      const record = await store.registry.getModel(auto.outcome.modelId);
      expect(record?.metrics['new-items']).toEqual(scores);
    } finally {
      await store.close();
    }
  });
});
