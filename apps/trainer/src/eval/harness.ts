import { performance } from 'node:perf_hooks';
import { itemCatalog, type Dataset, type Task } from '../data/types';
import { splitP1, type P1Options } from '../protocol/p1';
import { SCENARIOS, type Scenario } from '../protocol/scenarios';
import { throwIfAborted } from '../util/interrupt';
import { silentProgress, type ProgressReporter } from '../util/progress';
import { kShotTasks } from './kshot';
import type { EvalMethod, FitProgress } from './method';
import { scenarioMetrics, type ScenarioMetrics } from './task-metrics';

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
}

export interface MethodRun {
  name: string;
  scenarios: Record<Scenario, ScenarioMetrics>;
  kShot: { k: number; mae: number; ndcg3: number; tasks: number }[];
  /** Held-out warm users: the only numbers hyper-parameters may be chosen on. */
  validation: ScenarioMetrics;
  trainSeconds: number;
  backend: string;
  lossHistory: number[];
  tuned?: Record<string, unknown>;
}

export interface SeedMethodRun extends MethodRun {
  seed: number;
}

export interface HarnessResult {
  dataset: string;
  seeds: number[];
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
        const onProgress = (p: FitProgress) =>
          bar.update(at + (p.total > 0 ? Math.min(p.done / p.total, 0.99) : 0), {
            seed,
            method: factory.name,
            ...(p.epoch !== undefined && { epoch: p.epoch }),
            ...(p.total > 0 && { batch: `${p.done}/${p.total}` }),
            ...(p.loss !== undefined && { loss: p.loss }),
          });
        const run = await runMethod(
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
        runs.push({ ...run, seed });
        options.onMethodDone?.(seed, run);
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
): Promise<MethodRun> {
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
    return {
      name,
      scenarios,
      kShot,
      validation,
      trainSeconds,
      backend: fit.backend,
      lossHistory: fit.lossHistory,
      tuned: fit.tuned,
    };
  } finally {
    method.dispose?.();
  }
}
