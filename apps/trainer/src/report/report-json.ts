import type { HarnessResult, SeedMethodRun } from '../eval/harness';
import { SCENARIOS, type Scenario } from '../protocol/scenarios';

/** report.json, a stable schema other tools read (see apps/trainer/README.md). */
export interface ScenarioSummary {
  mae: number;
  mae_std: number;
  rmse: number;
  ndcg3: number;
  ndcg3_std: number;
  p5: number;
}

export interface ModelSummary {
  name: string;
  scenarios: Record<Scenario, ScenarioSummary>;
  train_seconds: number;
  backend: string;
  /** Additions to the agreed schema: */
  k_shot: { k: number; mae: number; mae_std: number; ndcg3: number; ndcg3_std: number; tasks: number }[];
  loss_history: { seed: number; values: number[] }[];
  /** Warm validation users (what tuning may look at), mean over seeds. */
  validation: { mae: number; ndcg3: number };
  tuned: { seed: number; values: Record<string, unknown> }[];
  /**
   * Only on a "<method>+item-warmup" variant (src/eval/item-warmup.ts): its scenarios hold the
   * new-item scenarios only (the others, `validation` and `k_shot` do not apply: null / empty).
   */
  item_warmup?: ItemWarmupSummary;
}

export interface ItemWarmupSummary {
  /** The method whose fitted models were warmed up (same seeds, same adaptation). */
  of: string;
  options: { steps: number; lr: number; prior: number };
  /** Per new-item scenario: items warmed up and support ratings used (first seed), seconds (mean). */
  scenarios: Partial<Record<Scenario, { items: number; interactions: number; seconds: number }>>;
  /** Warm validation users with item IDs hidden, without / with warm-up (mean over seeds). */
  validation_cold_items: {
    without: { mae: number; mae_std: number; ndcg3: number; ndcg3_std: number };
    with: { mae: number; mae_std: number; ndcg3: number; ndcg3_std: number };
  };
}

export interface Report {
  protocol: 'p1';
  dataset: string;
  seeds: number[];
  tasks: Record<Scenario, number>;
  models: ModelSummary[];
  splits: HarnessResult['splits'];
  generated_at: string;
  config: unknown;
}

export function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** Sample standard deviation over seeds (0 for a single seed; NaN, like the mean, for a NaN value). */
export function std(values: readonly number[]): number {
  if (values.length < 2) return values.some(Number.isNaN) ? NaN : 0;
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

export function buildReport(result: HarnessResult, config: unknown, now = new Date()): Report {
  const names = [...new Set(result.runs.map((r) => r.name))];
  return {
    protocol: 'p1',
    dataset: result.dataset,
    seeds: result.seeds,
    tasks: result.tasks,
    models: names.map((name) =>
      summarise(
        name,
        result.runs.filter((r) => r.name === name),
      ),
    ),
    splits: result.splits,
    generated_at: now.toISOString(),
    config,
  };
}

function summarise(name: string, runs: readonly SeedMethodRun[]): ModelSummary {
  const scenarios = {} as Record<Scenario, ScenarioSummary>;
  for (const s of SCENARIOS) {
    const pick = (f: 'mae' | 'rmse' | 'ndcg3' | 'p5') => runs.map((r) => r.scenarios[s][f]);
    scenarios[s] = {
      mae: mean(pick('mae')),
      mae_std: std(pick('mae')),
      rmse: mean(pick('rmse')),
      ndcg3: mean(pick('ndcg3')),
      ndcg3_std: std(pick('ndcg3')),
      p5: mean(pick('p5')),
    };
  }
  const ks = runs[0].kShot.map((p) => p.k);
  return {
    name,
    scenarios,
    train_seconds: mean(runs.map((r) => r.trainSeconds)),
    backend: runs[0].backend,
    k_shot: ks.map((k) => {
      const at = runs.map((r) => r.kShot.find((p) => p.k === k)!);
      return {
        k,
        mae: mean(at.map((p) => p.mae)),
        mae_std: std(at.map((p) => p.mae)),
        ndcg3: mean(at.map((p) => p.ndcg3)),
        ndcg3_std: std(at.map((p) => p.ndcg3)),
        tasks: at[0].tasks,
      };
    }),
    validation: {
      mae: mean(runs.map((r) => r.validation.mae)),
      ndcg3: mean(runs.map((r) => r.validation.ndcg3)),
    },
    loss_history: runs
      .filter((r) => r.lossHistory.length > 0)
      .map((r) => ({ seed: r.seed, values: r.lossHistory })),
    tuned: runs.filter((r) => r.tuned).map((r) => ({ seed: r.seed, values: r.tuned! })),
    ...(runs[0].itemWarmup && { item_warmup: summariseWarmup(runs) }),
  };
}

function summariseWarmup(runs: readonly SeedMethodRun[]): ItemWarmupSummary {
  const first = runs[0].itemWarmup!;
  const scenarios: ItemWarmupSummary['scenarios'] = {};
  for (const s of SCENARIOS) {
    const at = first.scenarios[s];
    if (!at) continue;
    const seconds = runs.map((r) => r.itemWarmup?.scenarios[s]?.seconds ?? NaN);
    scenarios[s] = { items: at.items, interactions: at.interactions, seconds: mean(seconds) };
  }
  const cold = (which: 'without' | 'with') => {
    const mae = runs.map((r) => r.itemWarmup?.validationColdItems[which].mae ?? NaN);
    const ndcg3 = runs.map((r) => r.itemWarmup?.validationColdItems[which].ndcg3 ?? NaN);
    return { mae: mean(mae), mae_std: std(mae), ndcg3: mean(ndcg3), ndcg3_std: std(ndcg3) };
  };
  return {
    of: first.of,
    options: first.options,
    scenarios,
    validation_cold_items: { without: cold('without'), with: cold('with') },
  };
}
