/**
 * `train.ranker` on explicit data: a ranker (learners/ranker.ts) built from the interactions, kept by
 * `auto` only when it ranks the warm validation users better than the rating model, always by
 * `on`, never by `off`; kept rankers travel in the artifact with the evidence growth chosen for
 * them, and the choice is logged.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_WARMUP, loadModel } from '@warmstart/core';
import pino from 'pino';
import { openFeatureStore } from '@warmstart/feature-store';
import { trainCommand } from '../src/commands/train';
import { RANKER_WARMUP_PRIORS, settingKey } from '../src/learners/ranker-evidence-choice';
import { ALS_START_ALPHAS, EVIDENCE_GROWTHS } from '../src/learners/als-embeddings';
import { runCli, syntheticImportArgs } from './support/run-cli';
import { silentProgress } from '@warmstart/evaluation';

describe('train.ranker (explicit data)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-ranker-'));
  const database = join(dir, 'w.db');
  beforeAll(async () => {
    await runCli(syntheticImportArgs(database, 80));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function train(ranker: 'auto' | 'on' | 'off', extra = '') {
    const config = join(dir, `${ranker}${extra ? '-extra' : ''}.yaml`);
    writeFileSync(
      config,
      [
        'model: { embeddingDim: 4, hidden: [8] }',
        `train: { epochs: 1, metaBatchSize: 16, maxRatings: 30, ranker: ${ranker}, neighbourhood: off${extra} }`,
      ].join('\n'),
    );
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void logs.push(JSON.parse(l)) });
    const artifacts = join(dir, `models-${ranker}${extra ? '-extra' : ''}`);
    const lines: string[] = [];
    const outcome = await trainCommand(
      { database, artifacts, config },
      { out: (l: string) => lines.push(l), logger, progress: silentProgress },
    );
    const model = await loadModel(join(artifacts, outcome.modelId));
    const choice = logs.find((l) => 'validationNdcg20' in l) as
      | {
          ranker: boolean;
          validationNdcg20: { rating: number; ranker: number };
          alsAlpha: number;
          evidenceGrowth: number;
        }
      | undefined;
    const hasRanker = model.ranker !== null;
    const task = model.ranker?.config.task;
    const rankerGrowth = model.ranker?.adaptDefaults.evidenceGrowth;
    const evidenceMin = model.rankerEvidenceMin;
    const rankerWarmUp = model.ranker?.itemWarmUp;
    model.dispose();
    return {
      outcome,
      choice,
      hasRanker,
      task,
      rankerGrowth,
      evidenceMin,
      rankerWarmUp,
      output: lines.join('\n'),
    };
  }

  it('on: the artifact carries an implicit ranker; off: none; auto: kept exactly when it ranks better', async () => {
    const on = await train('on');
    expect(on.hasRanker).toBe(true);
    expect(on.task).toBe('implicit');
    expect(on.choice?.ranker).toBe(true);
    // Its ALS start (confidence and evidence growth) chosen on validation users, and served with it.
    expect(ALS_START_ALPHAS).toContain(on.choice!.alsAlpha);
    expect(EVIDENCE_GROWTHS).toContain(on.choice!.evidenceGrowth);
    expect(on.rankerGrowth).toBe(on.choice!.evidenceGrowth);
    expect((on.outcome.validation as { ndcg20?: number }).ndcg20).toBeCloseTo(
      on.choice!.validationNdcg20.ranker,
      6,
    );

    const off = await train('off');
    expect(off.hasRanker).toBe(false);
    expect(off.choice).toBeUndefined();

    const auto = await train('auto');
    const { rating, ranker } = auto.choice!.validationNdcg20;
    expect(Number.isFinite(rating) && Number.isFinite(ranker)).toBe(true);
    expect(auto.hasRanker).toBe(ranker > rating);
    expect(auto.choice!.ranker).toBe(ranker > rating);
  });

  it('newItems auto with a ranker: chooses whether the ranker takes new items’ low ratings as negatives, and serves with it', async () => {
    // A larger validation share, so that enough validation users rate the pseudo-new items.
    const { outcome, evidenceMin, rankerWarmUp, output } = await train('on', ', validationFraction: 0.5');
    const evidence = outcome.newItems.rankerEvidence!;
    // The synthetic scale is 1..5: liked = the top 30%, 3.8 and above.
    expect(evidence.min).toBeCloseTo(3.8, 10);
    // Every setting scored (the model warms items up: every prior), the first best kept.
    const settings = RANKER_WARMUP_PRIORS.flatMap((prior) =>
      [null, evidence.min].map((min) => ({ min, prior })),
    );
    expect(Object.keys(evidence.scores)).toEqual(settings.map(settingKey));
    const best = settings.reduce((b, x) =>
      evidence.scores[settingKey(x)]! > evidence.scores[settingKey(b)]! ? x : b,
    );
    expect(evidence.kept).toEqual(best);
    // The artifact serves with it.
    expect(evidenceMin).toBe(best.min);
    expect(rankerWarmUp).toEqual(best.prior === DEFAULT_WARMUP.prior ? {} : { prior: best.prior });
    expect(output).toContain(
      (best.min === null
        ? 'the ranker takes every rating of new items as a positive'
        : "the ranker takes new items' ratings >= 3.8 as positives, the others as negatives") +
        `, warm-up prior ${best.prior}`,
    );
    const store = await openFeatureStore(database);
    try {
      const record = await store.registry.getModel(outcome.modelId);
      expect(record?.metrics['ranker-evidence']).toEqual(evidence.scores);
    } finally {
      await store.close();
    }
    // A configured way keeps every rating, with no choice made.
    const configured = await train('on', ', validationFraction: 0.5, newItems: warm-up');
    expect(configured.outcome.newItems.rankerEvidence).toBeUndefined();
    expect(configured.evidenceMin).toBeNull();
    expect(configured.rankerWarmUp).toEqual({});
  });
});
