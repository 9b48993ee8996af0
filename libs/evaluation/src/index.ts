/**
 * @warmstart/evaluation: the cold-start evaluation protocols (P1 and P2, docs/protocols.md), the
 * baselines, the metrics harness and the report schema. Free of I/O: a caller brings a
 * {@link Dataset} in memory and the methods to compare ({@link EvalMethod}: the baselines here,
 * the trainer's meta-learners, or a service's own model) and gets a {@link HarnessResult}, which
 * {@link buildReport} turns into the JSON report (`report.json`).
 */

// The dataset in memory, and the unit of evaluation.
export {
  itemCatalog,
  type Dataset,
  type FeatureRecord,
  type FeatureValue,
  type FeedbackKind,
  type ItemCatalog,
  type ItemRecord,
  type Rating,
  type RatingEvent,
  type Task,
  type UserRecord,
} from './data/types';

// Protocols: who is cold, and which tasks each scenario scores.
export { COLD_SCENARIOS, NEW_ITEM_SCENARIOS, SCENARIOS, type Scenario } from './protocol/scenarios';
export { P1_DEFAULTS, splitP1, type P1Options, type P1Split } from './protocol/p1';
export { P2_DEFAULTS, splitP2, type P2Options, type P2Split, type P2TaskRules } from './protocol/p2';
export { datasetHasTimes, orderedByItem, type NewItemBasis, type NewUserBasis } from './protocol/p2-order';
export { newItemKShot, newUserKShot, type KShotView } from './protocol/p2-kshot';
export { buildTask, P1_TASK_RULES, type TaskRules } from './protocol/tasks';
export { compareIds } from './protocol/cold-sets';

// What a method to evaluate implements.
export type { EvalMethod, FitContext, FitProgress, FitResult, RankOptions } from './eval/method';
export { validationSet, type ValidationSet } from './eval/validation-set';

// The harnesses: fit each method per seed, score every scenario and the k-shot curves.
export {
  runP1,
  type HarnessOptions,
  type HarnessResult,
  type KShotPoint,
  type MethodFactory,
  type MethodRun,
  type SeedMethodRun,
} from './eval/harness';
export {
  describeP2Split,
  feedbackOf,
  MIN_SCENARIO_TASKS,
  runP2,
  type P2Facts,
  type P2HarnessOptions,
} from './eval/harness-p2';
export {
  ITEM_WARMUP_SUFFIX,
  itemWarmupRequests,
  type ItemWarmupRun,
  type ItemWarmupStats,
} from './eval/item-warmup';

// Metrics.
export {
  P2_CUTOFFS,
  relevanceOf,
  type P2Metrics,
  type RankingMetrics,
  type Relevance,
} from './eval/p2-metrics';
export { scenarioMetrics, type ScenarioMetrics } from './eval/task-metrics';

// Baselines (EvalMethods) and the pieces the trainer's learners share with them.
export { GlobalMean } from './baselines/global-mean';
export { Popularity } from './baselines/popularity';
export { ItemBias } from './baselines/item-bias';
export { UserItemBias } from './baselines/user-item-bias';
export { BiasedMf, type BiasedMfOptions } from './baselines/biased-mf';
export { ALS_START, ImplicitAls, type AlsOptions } from './baselines/als';
export { trainAls, type AlsFactors, type AlsParams } from './baselines/als-model';
export { InteractionIndex } from './baselines/interaction-index';
export { ItemKnn, type ItemKnnOptions } from './baselines/item-knn';
export { ContentKnn, type ContentKnnOptions } from './baselines/content-knn';
export { pickBest, validationMae } from './baselines/tuning';
export { relevanceThreshold, validationRankingScore } from './baselines/validation';

// The report: its schema is this library's public type.
export {
  buildReport,
  type ItemWarmupSummary,
  type KShotSummary,
  type ModelSummary,
  type RankingSummary,
  type Report,
  type ScenarioSummary,
} from './report/report-json';

// Shared plumbing: cancellation, progress, seeded randomness.
export { CancelledError, isCancellation, stopError, throwIfAborted } from './util/abort';
export { silentProgress, type ProgressBar, type ProgressReporter } from './util/progress';
export { createRng, rngFor, shuffled, type Rng } from './util/rng';
