import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { WarmUpOptions } from '@warmstart/core';
import { loadConfig } from '../config/load';
import type { TrainerConfig } from '../config/schema';
import { readMovieLens100k } from '../data/movielens-dir';
import { loadDatasetFromStore } from '../data/from-store';
import { resolveFeatures } from '../data/infer-features';
import { withTextWords } from '../data/text-words';
import { buildMethods } from '../eval/methods';
import { p2Overview } from '../eval/p2-overview';
import { writeReport } from '../report/write-report';
import { writeFileAtomic } from '../util/atomic-write';
import type { CommandContext } from './context';
import {
  buildReport,
  ContentKnn,
  type Dataset,
  feedbackOf,
  type HarnessResult,
  type MethodFactory,
  type MethodRun,
  type Report,
  runP1,
  runP2,
  type ScenarioSummary,
  type SeedMethodRun,
  splitP2,
} from '@warmstart/evaluation';

export interface EvaluateFlags {
  protocol: string;
  seeds?: number[];
  out: string;
  config?: string;
  movielens?: string;
  methods?: string[];
  resume?: boolean;
  database: string;
  /** Dataset label in the report when reading the feature store (default: see storeDatasetName). */
  datasetName?: string;
}

const CHECKPOINT = '.evaluate-checkpoint.json';

/**
 * `evaluate --protocol p1|p2`: every configured baseline and meta-learner on every seed, then
 * report.json + report.html + SVG charts. Finished (seed, method) results are checkpointed in the
 * output directory, so `--resume` after a Ctrl-C redoes only what was missing.
 */
export async function evaluateCommand(
  flags: EvaluateFlags,
  ctx: CommandContext,
  loadDataset: (flags: EvaluateFlags) => Promise<Dataset>,
  signal?: AbortSignal,
): Promise<Report> {
  if (flags.protocol !== 'p1' && flags.protocol !== 'p2')
    throw new Error(`--protocol: "p1" or "p2", got "${flags.protocol}"`);
  const config = loadConfig(flags.config);
  const seeds = flags.seeds ?? config.evaluate.seeds;
  if (flags.protocol === 'p2') return evaluateP2(flags, config, seeds, ctx, loadDataset, signal);
  const methods = buildMethods(config, flags.methods);
  const dataset = await loadDataset(flags);
  logDataset(ctx, dataset);
  return runEvaluation(flags, config, seeds, methods, dataset, ctx, (done, onMethodDone) =>
    runP1(dataset, methods, {
      seeds,
      p1: config.evaluate.p1,
      kShot: config.evaluate.kShot,
      itemWarmup: itemWarmupOptions(config),
      scale: [config.model.ratingRange[0], config.model.ratingRange[1]],
      progress: ctx.progress,
      signal,
      done,
      onMethodDone,
    }),
  );
}

/**
 * Protocol P2 (src/protocol/p2.ts) on any dataset: features inferred where the config leaves them
 * at MovieLens's default and the data lacks those fields; the split summary and small-scenario
 * warnings printed before anything is fitted.
 */
async function evaluateP2(
  flags: EvaluateFlags,
  config: TrainerConfig,
  seeds: number[],
  ctx: CommandContext,
  loadDataset: (flags: EvaluateFlags) => Promise<Dataset>,
  signal?: AbortSignal,
): Promise<Report> {
  const loaded = await loadDataset(flags);
  logDataset(ctx, loaded);
  const features = resolveFeatures(config.features, loaded.users, loaded.items);
  const dataset = withTextWords(loaded, features.features);
  const resolved: TrainerConfig = { ...config, features: features.features };
  const methods = buildMethods(resolved, flags.methods, {
    ...feedbackOf(dataset),
    itemContent: ContentKnn.applicable(dataset.items),
  });
  const { relevanceShare, kShot, baselines: _baselines, ...p2 } = config.evaluate.p2;
  const overview = p2Overview(dataset, splitP2(dataset, { ...p2, seed: seeds[0] }), relevanceShare, features);
  for (const line of overview.lines) ctx.out(line);
  for (const warning of overview.warnings) {
    ctx.out(`warning: ${warning}`);
    ctx.logger.warn({ protocol: 'p2' }, warning);
  }
  return runEvaluation(flags, resolved, seeds, methods, dataset, ctx, (done, onMethodDone) =>
    runP2(dataset, methods, {
      seeds,
      p2,
      relevanceShare,
      kShot,
      progress: ctx.progress,
      signal,
      done,
      onMethodDone,
    }),
  );
}

function logDataset(ctx: CommandContext, dataset: Dataset): void {
  ctx.logger.info(
    {
      dataset: dataset.name,
      users: dataset.users.length,
      items: dataset.items.length,
      ratings: dataset.ratings.length,
      ...(dataset.kind && { kind: dataset.kind }),
    },
    'dataset loaded',
  );
}

/** Checkpointing (`--resume`), the harness run, the report files and the terminal table. */
async function runEvaluation(
  flags: EvaluateFlags,
  config: TrainerConfig,
  seeds: number[],
  methods: readonly MethodFactory[],
  dataset: Dataset,
  ctx: CommandContext,
  run: (
    done: SeedMethodRun[],
    onMethodDone: (seed: number, run: MethodRun) => void,
  ) => Promise<HarnessResult>,
): Promise<Report> {
  const out = resolve(flags.out);
  const checkpointPath = join(out, CHECKPOINT);
  const fingerprint = evaluationFingerprint(
    flags.protocol,
    methods.map((m) => m.name),
    seeds,
    config,
    dataset,
  );
  const done: SeedMethodRun[] =
    flags.resume && existsSync(checkpointPath) ? readCheckpoint(checkpointPath, fingerprint) : [];
  if (done.length) ctx.logger.info({ resumed: done.length }, 'resuming from checkpoint');
  const partial = [...done];
  const result = await run(done, (seed, methodRun) => {
    partial.push({ ...methodRun, seed });
    const checkpoint: EvaluateCheckpoint = { version: 2, fingerprint, runs: partial };
    writeFileAtomic(checkpointPath, JSON.stringify(checkpoint));
    ctx.logger.info(
      { seed, method: methodRun.name, trainSeconds: +methodRun.trainSeconds.toFixed(1) },
      'method evaluated',
    );
  });
  const report = buildReport(result, { ...config, seeds, methods: methods.map((m) => m.name) });
  const files = await writeReport(out, report);
  rmSync(checkpointPath, { force: true });
  for (const f of files) ctx.out(`wrote ${f}`);
  ctx.out(report.protocol === 'p2' ? formatP2Table(report) : formatTable(report));
  return report;
}

/** `evaluate.itemWarmup` as core warm-up options (unset keys: core's defaults); null when disabled. */
export function itemWarmupOptions(config: TrainerConfig): WarmUpOptions | null {
  const { enabled, steps, lr, prior } = config.evaluate.itemWarmup;
  if (!enabled) return null;
  return {
    ...(steps !== undefined && { steps }),
    ...(lr !== undefined && { lr }),
    ...(prior !== undefined && { prior }),
  };
}

/** What partial results were computed for: `--resume` reuses them only when all of it matches. */
export interface EvaluationFingerprint {
  protocol: string;
  methods: string[];
  seeds: number[];
  /** sha256 of the resolved configuration (method settings, P1 options, k-shot sizes...). */
  config: string;
  /** sha256 of the dataset's name, users, items and ratings. */
  dataset: string;
}

interface EvaluateCheckpoint {
  version: 2;
  fingerprint: EvaluationFingerprint;
  runs: SeedMethodRun[];
}

export function evaluationFingerprint(
  protocol: string,
  methods: readonly string[],
  seeds: readonly number[],
  config: unknown,
  dataset: Dataset,
): EvaluationFingerprint {
  const h = createHash('sha256');
  h.update(JSON.stringify([dataset.name, dataset.users, dataset.items]));
  // Only when set, so the fingerprint of data without them (P1's MovieLens) is what it was.
  const facts = { kind: dataset.kind, scale: dataset.scale, hasTimes: dataset.hasTimes };
  if (Object.values(facts).some((v) => v !== undefined)) h.update(JSON.stringify(facts));
  for (const r of dataset.ratings) h.update(`\n${r.userId}\t${r.itemId}\t${r.value}\t${r.time.getTime()}`);
  return {
    protocol,
    methods: [...methods],
    seeds: [...seeds],
    config: createHash('sha256').update(JSON.stringify(config)).digest('hex'),
    dataset: h.digest('hex'),
  };
}

const METRIC_KEYS = new Set(['mae', 'rmse', 'ndcg3', 'p5', 'recall20', 'ndcg20', 'hr10']);

/** The checkpoint's finished results, refusing those of a different evaluation. */
function readCheckpoint(path: string, expected: EvaluationFingerprint): SeedMethodRun[] {
  const restart = `; run without --resume to start over (this replaces ${path})`;
  // JSON writes NaN (a metric of a scenario without tasks, or not applicable) as null: read it back as NaN.
  const data = JSON.parse(readFileSync(path, 'utf8'), (key, value: unknown) =>
    value === null && METRIC_KEYS.has(key) ? NaN : value,
  ) as EvaluateCheckpoint | SeedMethodRun[];
  if (Array.isArray(data) || data.version !== 2 || !data.fingerprint) {
    throw new Error(`--resume: ${path} has no fingerprint (written by an older trainer)${restart}`);
  }
  const differ = (Object.keys(expected) as (keyof EvaluationFingerprint)[]).filter(
    (k) => JSON.stringify(data.fingerprint[k]) !== JSON.stringify(expected[k]),
  );
  if (differ.length > 0) {
    const detail = differ.map((k) =>
      k === 'config' || k === 'dataset'
        ? k
        : `${k}: ${JSON.stringify(data.fingerprint[k])} then, ${JSON.stringify(expected[k])} now`,
    );
    throw new Error(
      `--resume: the partial results in ${path} were computed for a different evaluation (${detail.join('; ')})${restart}`,
    );
  }
  return data.runs;
}

export async function defaultDatasetLoader(flags: EvaluateFlags): Promise<Dataset> {
  if (flags.movielens) return readMovieLens100k(flags.movielens);
  return loadDatasetFromStore(flags.database, flags.datasetName, storeDatasetName(flags.database));
}

/**
 * The report's dataset label when neither `--dataset-name` is given nor the store's import recorded
 * a name: the SQLite file's name without its extension, or the PostgreSQL database's name
 * (`./data/lastfm.db` -> `lastfm`).
 */
export function storeDatasetName(database: string): string {
  if (/^postgres(ql)?:\/\//.test(database)) {
    try {
      const name = decodeURIComponent(new URL(database).pathname.replace(/^\//, ''));
      if (name) return name;
    } catch {
      // not a parsable URL: the generic label below
    }
    return 'postgresql';
  }
  return basename(database).replace(/\.[^.]*$/, '') || 'feature-store';
}

/** A plain-text version of the scenario table for the terminal. */
export function formatTable(report: Report): string {
  const scen = ['warm', 'new_user', 'new_item', 'new_user_new_item'] as const;
  // One seed has no spread: no ± column (as in report.html).
  const spread = report.seeds.length > 1;
  const width = spread ? 32 : 24;
  const num = (v: number, sd: number) => v.toFixed(4) + (spread ? `±${sd.toFixed(3)}` : '');
  const head = ['model'.padEnd(24), ...scen.map((s) => `${s} MAE / nDCG@3`.padEnd(width))].join(' ');
  const rows = report.models.map((m) =>
    [
      m.name.padEnd(24),
      ...scen.map((s) => {
        const x = m.scenarios[s];
        if (m.item_warmup && !(s in m.item_warmup.scenarios)) return 'n/a'.padEnd(width);
        if (!Number.isFinite(x.mae)) return 'no tasks'.padEnd(width);
        return `${num(x.mae, x.mae_std)} / ${num(x.ndcg3, x.ndcg3_std)}`.padEnd(width);
      }),
    ].join(' '),
  );
  return [head, ...rows].join('\n');
}

/** P2's terminal tables: Recall@20 / NDCG@20 per scenario, and for explicit data MAE / nDCG@3 too. */
export function formatP2Table(report: Report): string {
  const scen = ['warm', 'new_user', 'new_item', 'new_user_new_item'] as const;
  const spread = report.seeds.length > 1;
  const num = (v: number | undefined, sd: number | undefined) =>
    v === undefined || !Number.isFinite(v)
      ? '-'
      : v.toFixed(4) + (spread && sd !== undefined ? `±${sd.toFixed(3)}` : '');
  const width = spread ? 30 : 20;
  const table = (title: string, cell: (s: ScenarioSummary) => string) =>
    [
      [title.padEnd(24), ...scen.map((s) => s.padEnd(width))].join(' '),
      ...report.models.map((m) =>
        [m.name.padEnd(24), ...scen.map((s) => cell(m.scenarios[s]).padEnd(width))].join(' '),
      ),
    ].join('\n');
  const out = [
    table(
      'Recall@20 / NDCG@20',
      (x) => `${num(x.recall20, x.recall20_std)} / ${num(x.ndcg20, x.ndcg20_std)}`,
    ),
  ];
  if (report.kind === 'explicit') {
    out.push(table('MAE / nDCG@3', (x) => `${num(x.mae, x.mae_std)} / ${num(x.ndcg3, x.ndcg3_std)}`));
  }
  return out.join('\n\n');
}
