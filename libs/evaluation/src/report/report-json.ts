import type { FeedbackKind } from '../data/types';
import type { HarnessResult, KShotPoint, SeedMethodRun } from '../eval/harness';
import { MIN_SCENARIO_TASKS } from '../eval/harness-p2';
import { SCENARIOS, type Scenario } from '../protocol/scenarios';

/** report.json, a stable schema other tools read (see libs/evaluation/README.md). */
export interface ScenarioSummary extends Partial<RankingSummary> {
  mae: number;
  mae_std: number;
  rmse: number;
  ndcg3: number;
  ndcg3_std: number;
  p5: number;
}

/** P2's full-catalog ranking figures (mean and standard deviation over seeds). */
export interface RankingSummary {
  recall20: number;
  recall20_std: number;
  ndcg20: number;
  ndcg20_std: number;
  hr10: number;
  hr10_std: number;
  /** Tasks with a relevant query item (first seed): what the ranking figures average over. */
  ranking_tasks: number;
}

/** One k-shot point: P1 has MAE and nDCG@3; P2 adds RMSE, P@5 and the ranking figures. */
export interface KShotSummary extends Partial<RankingSummary> {
  k: number;
  mae: number;
  mae_std: number;
  ndcg3: number;
  ndcg3_std: number;
  rmse?: number;
  p5?: number;
  tasks: number;
}

export interface ModelSummary {
  name: string;
  scenarios: Record<Scenario, ScenarioSummary>;
  train_seconds: number;
  backend: string;
  /** Additions to the agreed schema: */
  /** New users, support cut to the first k. */
  k_shot: KShotSummary[];
  /** P2 only: new items with only their first k interactions available to the model. */
  k_shot_new_items?: KShotSummary[];
  loss_history: { seed: number; values: number[] }[];
  /** Warm validation users (what tuning may look at), mean over seeds (P2 adds ndcg20). */
  validation: { mae: number; ndcg3: number; ndcg20?: number };
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
  protocol: 'p1' | 'p2';
  dataset: string;
  seeds: number[];
  tasks: Record<Scenario, number>;
  models: ModelSummary[];
  splits: HarnessResult['splits'];
  generated_at: string;
  config: unknown;
  /** P2 only (see libs/evaluation/README.md, "report.json"): */
  kind?: FeedbackKind;
  /** The declared rating scale (explicit data; null for implicit). */
  scale?: [number, number] | null;
  /** true when the data has no event times: new users, new items and every order are seeded random. */
  no_times?: boolean;
  split_basis?: { new_items: string; new_users: string };
  relevance_threshold?: number | null;
  candidates?: { warm_items: number; new_items: number };
  /** Scenarios (or `validation`) with fewer than 50 scored tasks: too few to separate models. */
  too_small?: string[];
  /** Plain-language notes on the above, as report.html shows them. */
  notes?: string[];
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
  const p2 = result.p2;
  return {
    protocol: p2 ? 'p2' : 'p1',
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
    ...(p2 && {
      kind: p2.kind,
      scale: p2.kind === 'explicit' ? p2.scale : null,
      no_times: !p2.hasTimes,
      split_basis: { new_items: p2.basis.newItems, new_users: p2.basis.newUsers },
      relevance_threshold: p2.relevanceThreshold,
      candidates: p2.candidates,
      too_small: p2.tooSmall,
      notes: p2Notes(result),
    }),
  };
}

/** What a reader of a P2 report must know about how it was split and scored. */
function p2Notes(result: HarnessResult): string[] {
  const p2 = result.p2!;
  const notes: string[] = [];
  if (!p2.hasTimes) {
    notes.push(
      'The data has no event times: new users are a seeded random 20% of the users' +
        (p2.basis.newItems === 'random' ? ', new items a seeded random 20% of the items' : '') +
        ", and each user's support/query order is seeded random (it changes with the seed).",
    );
  }
  notes.push(
    p2.kind === 'implicit'
      ? 'Implicit feedback: every interaction is a positive; ranking metrics only.'
      : `Explicit ratings on [${p2.scale.join(', ')}]: relevant for ranking = a rating >= ${p2.relevanceThreshold?.toFixed(2)}.`,
  );
  if (p2.tooSmall.length > 0) {
    notes.push(
      `Fewer than ${MIN_SCENARIO_TASKS} scored tasks in ${p2.tooSmall.join(', ')}: reported, but too few to separate models.`,
    );
  }
  return notes;
}

type RankingRun = { recall20?: number; ndcg20?: number; hr10?: number; rankingTasks?: number };

/** The ranking figures over seeds, or nothing when the runs have none (P1). */
function rankingSummary(at: readonly RankingRun[]): Partial<RankingSummary> {
  if (at[0]?.recall20 === undefined) return {};
  const pick = (f: 'recall20' | 'ndcg20' | 'hr10') => at.map((p) => p[f] ?? NaN);
  return {
    recall20: mean(pick('recall20')),
    recall20_std: std(pick('recall20')),
    ndcg20: mean(pick('ndcg20')),
    ndcg20_std: std(pick('ndcg20')),
    hr10: mean(pick('hr10')),
    hr10_std: std(pick('hr10')),
    ranking_tasks: at[0].rankingTasks ?? 0,
  };
}

function kShotSummary(
  runs: readonly SeedMethodRun[],
  curve: (r: SeedMethodRun) => KShotPoint[] | undefined,
): KShotSummary[] {
  const ks = (curve(runs[0]) ?? []).map((p) => p.k);
  return ks.map((k) => {
    const at = runs.map((r) => curve(r)?.find((p) => p.k === k) ?? { k, mae: NaN, ndcg3: NaN, tasks: 0 });
    return {
      k,
      mae: mean(at.map((p) => p.mae)),
      mae_std: std(at.map((p) => p.mae)),
      ndcg3: mean(at.map((p) => p.ndcg3)),
      ndcg3_std: std(at.map((p) => p.ndcg3)),
      ...(at[0].rmse !== undefined && {
        rmse: mean(at.map((p) => p.rmse ?? NaN)),
        p5: mean(at.map((p) => p.p5 ?? NaN)),
      }),
      tasks: at[0].tasks,
      ...rankingSummary(at),
    };
  });
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
      ...rankingSummary(runs.map((r) => r.scenarios[s])),
    };
  }
  const validationNdcg20 = runs[0].validation.ndcg20;
  return {
    name,
    scenarios,
    train_seconds: mean(runs.map((r) => r.trainSeconds)),
    backend: runs[0].backend,
    k_shot: kShotSummary(runs, (r) => r.kShot),
    ...(runs[0].kShotNewItems && { k_shot_new_items: kShotSummary(runs, (r) => r.kShotNewItems) }),
    validation: {
      mae: mean(runs.map((r) => r.validation.mae)),
      ndcg3: mean(runs.map((r) => r.validation.ndcg3)),
      ...(validationNdcg20 !== undefined && { ndcg20: mean(runs.map((r) => r.validation.ndcg20 ?? NaN)) }),
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
