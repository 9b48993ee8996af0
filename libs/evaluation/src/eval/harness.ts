import { performance } from 'node:perf_hooks';
import type { WarmUpOptions } from '@warmstart/core';
import { itemCatalog, type Dataset, type Task } from '../data/types';
import { splitP1, type P1Options } from '../protocol/p1';
import { NEW_ITEM_SCENARIOS, SCENARIOS, type Scenario } from '../protocol/scenarios';
import { validationSet } from './validation-set';
import { throwIfAborted } from '../util/abort';
import { silentProgress, type ProgressReporter } from '../util/progress';
import {
  ITEM_WARMUP_SUFFIX,
  resolvedWarmupOptions,
  type ItemWarmupRun,
  type ItemWarmupStats,
} from './item-warmup';
import { kShotTasks } from './kshot';
import type { EvalMethod, FitProgress } from './method';
import { scenarioMetrics, type ScenarioMetrics } from './task-metrics';
import type { P2Metrics, RankingMetrics } from './p2-metrics';
import type { P2Facts } from './harness-p2';

export interface MethodFactory {
  name: string;
  create(seed: number): EvalMethod;
}

export interface HarnessOptions {
  seeds: readonly number[];
  p1?: Partial<Omit<P1Options, 'seed'>>;
  kShot: readonly number[];
  progress?: ProgressReporter;
  signal?: AbortSignal;
  /** Called after each method finishes on a seed (e.g. to checkpoint partial results). */
  onMethodDone?: (seed: number, result: MethodRun) => void;
  /** Results already computed (from a checkpoint, `--resume`): skipped, not re-run. */
  done?: readonly SeedMethodRun[];
  /**
   * Warm-up options of the "<method>+item-warmup" variants (item-warmup.ts), reported after each
   * method that supports them; null or absent: no variants.
   */
  itemWarmup?: WarmUpOptions | null;
  /** The rating range the methods fit (FitContext.scale; the evaluate command passes `model.ratingRange`). */
  scale?: [number, number];
}

/** One point of a k-shot curve: P1 has MAE and nDCG@3; P2 every metric (p2-metrics.ts). */
export interface KShotPoint extends Partial<Omit<P2Metrics, 'mae' | 'ndcg3' | 'tasks'>> {
  k: number;
  mae: number;
  ndcg3: number;
  tasks: number;
}

export interface MethodRun {
  name: string;
  /** P1's metrics; P2 adds the ranking metrics. */
  scenarios: Record<Scenario, ScenarioMetrics & Partial<RankingMetrics>>;
  /** New users with their support cut to the first k. */
  kShot: KShotPoint[];
  /** P2 only: new items with only their first k interactions available. */
  kShotNewItems?: KShotPoint[];
  /** Held-out warm users: the only numbers hyper-parameters may be chosen on. */
  validation: ScenarioMetrics & Partial<RankingMetrics>;
  trainSeconds: number;
  backend: string;
  lossHistory: number[];
  tuned?: Record<string, unknown>;
  /** Only on a "+item-warmup" variant: what was warmed up, with which options. */
  itemWarmup?: ItemWarmupRun;
}

export interface SeedMethodRun extends MethodRun {
  seed: number;
}

export interface HarnessResult {
  dataset: string;
  seeds: number[];
  /** P2 only: what the split was made of (report.json `kind`, `no_times`, `split_basis`...). */
  p2?: P2Facts;
  /**
   * Tasks scored per scenario in the first seed's split (they vary only slightly with the seed):
   * warm counts the warm-test users only; `splits` has all warm tasks.
   */
  tasks: Record<Scenario, number>;
  splits: { warm_train: number; warm_validation: number; warm_test: number };
  runs: SeedMethodRun[];
}

/** Runs protocol P1 for every method and seed: fit on warm-train, measure every scenario. */
export async function runP1(
  dataset: Dataset,
  methods: readonly MethodFactory[],
  options: HarnessOptions,
): Promise<HarnessResult> {
  const progress = options.progress ?? silentProgress;
  const items = itemCatalog(dataset.items);
  const runs: SeedMethodRun[] = [...(options.done ?? [])];
  let result: Omit<HarnessResult, 'runs'> | undefined;
  const total = options.seeds.length * methods.length;
  const bar = progress.start('evaluate p1', total);
  let step = 0;
  try {
    for (const seed of options.seeds) {
      const split = splitP1(dataset, { ...options.p1, seed });
      result ??= {
        dataset: dataset.name,
        seeds: [...options.seeds],
        // Tasks scored per scenario: for warm, the warm-test users (the warm row), not all warm tasks.
        tasks: Object.fromEntries(
          SCENARIOS.map((s) => [s, s === 'warm' ? split.warm.test.length : split.tasks[s].length]),
        ) as Record<Scenario, number>,
        splits: {
          warm_train: split.warm.train.length,
          warm_validation: split.warm.validation.length,
          warm_test: split.warm.test.length,
        },
      };
      const evalTasks: Record<Scenario, Task[]> = { ...split.tasks, warm: split.warm.test };
      for (const factory of methods) {
        throwIfAborted(options.signal);
        if (runs.some((r) => r.seed === seed && r.name === factory.name)) {
          bar.update(++step, { seed, method: factory.name });
          continue;
        }
        // Progress inside fit (meta-training epochs and batches) moves the bar between methods.
        const at = step;
        // A stage outside training (a choice on validation users) shows its own count in place.
        let value = at;
        const onProgress = (p: FitProgress) => {
          if (!p.stage) value = at + (p.total > 0 ? Math.min(p.done / p.total, 0.99) : 0);
          bar.update(value, {
            seed,
            method: factory.name,
            ...(p.stage && { stage: `${p.stage} ${p.done}/${p.total}` }),
            ...(p.epoch !== undefined && { epoch: p.epoch }),
            ...(p.total > 0 && !p.stage && { batch: `${p.done}/${p.total}` }),
            ...(p.loss !== undefined && { loss: p.loss }),
          });
        };
        const methodRuns = await runMethod(
          factory.name,
          factory.create(seed),
          split,
          evalTasks,
          items,
          dataset.users,
          seed,
          options,
          onProgress,
        );
        // The method, then its "+item-warmup" variant if any, recorded together.
        for (const run of methodRuns) {
          runs.push({ ...run, seed });
          options.onMethodDone?.(seed, run);
        }
        bar.update(++step, { seed, method: factory.name });
      }
    }
  } finally {
    bar.stop();
  }
  if (!result) throw new RangeError('evaluate: at least one seed is required');
  return { ...result, runs };
}

async function runMethod(
  name: string,
  method: EvalMethod,
  split: ReturnType<typeof splitP1>,
  evalTasks: Record<Scenario, Task[]>,
  items: ReturnType<typeof itemCatalog>,
  users: Dataset['users'],
  seed: number,
  options: HarnessOptions,
  onProgress: (p: FitProgress) => void,
): Promise<MethodRun[]> {
  try {
    const t0 = performance.now();
    const fit = await method.fit({
      train: split.warm.train,
      validation: split.warm.validation,
      items,
      users,
      seed,
      signal: options.signal,
      onProgress,
      kind: 'explicit',
      scale: options.scale ?? [1, 5],
    });
    const trainSeconds = (performance.now() - t0) / 1000;
    const scenarios = {} as Record<Scenario, ScenarioMetrics>;
    for (const scenario of SCENARIOS) {
      throwIfAborted(options.signal);
      const tasks = evalTasks[scenario];
      scenarios[scenario] = scenarioMetrics(tasks, await method.predict(tasks, items, options.signal));
    }
    const validation = scenarioMetrics(
      split.warm.validation,
      await method.predict(split.warm.validation, items, options.signal),
    );
    const kShot = [];
    for (const [k, tasks] of kShotTasks(evalTasks.new_user, options.kShot)) {
      const m = scenarioMetrics(tasks, await method.predict(tasks, items, options.signal));
      kShot.push({ k, mae: m.mae, ndcg3: m.ndcg3, tasks: m.tasks });
    }
    const run: MethodRun = {
      name,
      scenarios,
      kShot,
      validation,
      trainSeconds,
      backend: fit.backend,
      lossHistory: fit.lossHistory,
      tuned: fit.tuned,
    };
    // After everything the method reports: the variant never changes the method's own numbers.
    const variant = options.itemWarmup
      ? await itemWarmupVariant(run, method, split, evalTasks, items, options.itemWarmup, options.signal)
      : null;
    return variant ? [run, variant] : [run];
  } finally {
    method.dispose?.();
  }
}

const NO_METRICS: ScenarioMetrics = { mae: NaN, rmse: NaN, ndcg3: NaN, p5: NaN, tasks: 0 };

/**
 * The "<method>+item-warmup" run (item-warmup.ts): the new-item scenarios scored after one batched
 * warm-up of their new items on their support ratings; the other scenarios, k-shot (new users,
 * existing items) and warm validation do not apply (NaN, reported as null). null when the method
 * has no such variant or its model cannot warm items up.
 */
async function itemWarmupVariant(
  base: MethodRun,
  method: EvalMethod,
  split: ReturnType<typeof splitP1>,
  evalTasks: Record<Scenario, Task[]>,
  items: ReturnType<typeof itemCatalog>,
  warmup: WarmUpOptions,
  signal?: AbortSignal,
): Promise<MethodRun | null> {
  if (!method.predictWithItemWarmup) return null;
  const scenarios = Object.fromEntries(SCENARIOS.map((s) => [s, NO_METRICS])) as Record<
    Scenario,
    ScenarioMetrics
  >;
  const stats: Partial<Record<Scenario, ItemWarmupStats>> = {};
  for (const scenario of NEW_ITEM_SCENARIOS) {
    throwIfAborted(signal);
    const tasks = evalTasks[scenario];
    const warmed = await method.predictWithItemWarmup(tasks, items, warmup, signal);
    if (!warmed) return null;
    scenarios[scenario] = scenarioMetrics(tasks, warmed.predictions);
    stats[scenario] = warmed.stats;
  }
  // Validation users with hidden item IDs: what warm-up options may be compared on.
  const cold = validationSet(split.warm.validation, items, true).coldItems!;
  const without = scenarioMetrics(cold.tasks, await method.predict(cold.tasks, cold.items, signal));
  const withWarmup = await method.predictWithItemWarmup(cold.tasks, cold.items, warmup, signal);
  return {
    name: base.name + ITEM_WARMUP_SUFFIX,
    scenarios,
    kShot: [],
    validation: NO_METRICS,
    trainSeconds: base.trainSeconds,
    backend: base.backend,
    lossHistory: [],
    ...(base.tuned && { tuned: base.tuned }),
    itemWarmup: {
      of: base.name,
      options: resolvedWarmupOptions(warmup),
      scenarios: stats,
      validationColdItems: {
        without,
        with: withWarmup ? scenarioMetrics(cold.tasks, withWarmup.predictions) : NO_METRICS,
      },
    },
  };
}
