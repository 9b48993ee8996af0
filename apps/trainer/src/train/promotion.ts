import { loadModel, type RecommenderModel } from '@warmstart/core';
import type { ModelVersionRecord } from '@warmstart/feature-store/registry';
import { resolve } from 'node:path';
import { isBetter, validationMetrics, type ValidationMetrics } from './validate-model';
import { type ItemCatalog, type Task } from '@warmstart/evaluation';
import { isCancellation } from '../util/interrupt';

/**
 * What promotion compares: `promotion.metric` on explicit data; on implicit data always `ndcg20`,
 * the full-catalog NDCG@20 of the validation users (within a query of positives only, MAE and
 * nDCG@3 measure nothing: every query value is 1).
 */
export type PromotionMetric = 'mae' | 'rmse' | 'ndcg3' | 'ndcg20';

/** A model's full-catalog NDCG@20 on the validation users, adapted with its `adaptDefaults`. */
export type RankingScore = (model: RecommenderModel) => Promise<number>;

/** The validation figures promotion reads: the query metrics, and NDCG@20 where it was measured. */
export type PromotionMetrics = ValidationMetrics & { ndcg20?: number };

/**
 * Why `train` did or did not promote its candidate, recorded in the run's metrics
 * (`metrics.promotion`) and logged. `candidate` and `promoted` are `metric` on the same
 * validation users (this run's split); `promotedStored` is the figure the registry holds for the
 * promoted model, measured on that model's own (different) split, shown for reference only.
 */
export interface PromotionDecision {
  metric: PromotionMetric;
  minImprovement: number;
  /** The candidate beats the promoted model (or the fallback says promote). */
  better: boolean;
  /** `--promote` forced it. */
  forced: boolean;
  promoted: boolean;
  /**
   * `first-model`: nothing was promoted; `same-split`: both models scored on this run's
   * validation users; `fallback`: the promoted model could not be scored (see `fallbackReason`),
   * so the candidate is promoted when its own figure is finite.
   */
  basis: 'first-model' | 'same-split' | 'fallback';
  promotedModelId: string | null;
  validationTasks: number;
  candidateValue: number;
  promotedValue: number | null;
  promotedStored: number | null;
  /** The promoted model's figures on this run's validation users, when scored. */
  promotedValidation: PromotionMetrics | null;
  fallbackReason: string | null;
}

/** Where a registry record's artifact lives (as serving resolves it). */
export function artifactDirOf(artifactsRoot: string, artifactUri: string): string {
  return resolve(artifactsRoot, artifactUri.replace(/^file:\/\//, ''));
}

/**
 * The promoted model re-scored on the candidate's validation tasks with the same function
 * (`validationMetrics`: same tasks, item catalog and batching), each model adapting the way it is
 * served (its artifact's `adaptDefaults`; the candidate's validation metrics used its own).
 * With `ndcg20`, `rankingScore` (the candidate's NDCG@20 function) scores it too. Returns the
 * reason instead when its artifact cannot be loaded or scored; every tensor of the loaded model is
 * freed. Cancellation (Ctrl-C, a lost lease) is rethrown.
 */
export async function rescorePromoted(
  promoted: Pick<ModelVersionRecord, 'modelId' | 'artifactUri'>,
  artifactsRoot: string,
  tasks: readonly Task[],
  items: ItemCatalog,
  metric: PromotionMetric,
  signal?: AbortSignal,
  rankingScore?: RankingScore,
): Promise<{ metrics: PromotionMetrics } | { error: string }> {
  if (tasks.length === 0) return { error: 'no validation tasks to score it on' };
  const dir = artifactDirOf(artifactsRoot, promoted.artifactUri);
  let model;
  try {
    model = await loadModel(dir);
  } catch (err) {
    const message = (err as Error).message;
    return { error: `cannot load its artifact${message.includes(dir) ? '' : ` ${dir}`}: ${message}` };
  }
  try {
    const metrics: PromotionMetrics = await validationMetrics(
      model,
      tasks,
      items,
      model.adaptDefaults,
      signal,
    );
    if (metric === 'ndcg20') {
      if (!rankingScore) throw new Error('promotion on ndcg20 needs the ranking score');
      metrics.ndcg20 = await rankingScore(model);
    }
    if (!Number.isFinite(metrics[metric]))
      return { error: `its ${metric} on the validation users is ${metrics[metric]} (incompatible artifact)` };
    return { metrics };
  } catch (err) {
    if (signal?.aborted || isCancellation(err)) throw err;
    return { error: `cannot score it on the current data: ${(err as Error).message}` };
  } finally {
    model.dispose();
  }
}

/**
 * The promotion rule of `train` (README, "train"): promote when `--promote`, when nothing is
 * promoted yet, or when the candidate beats the promoted model on `metric` by more than
 * `minImprovement` with both scored on the same validation users. When the promoted model cannot
 * be scored (missing or corrupt artifact, incompatible with the current data), the candidate is
 * promoted if its own figure is finite: the promoted model cannot be evaluated, and most likely
 * cannot be served either.
 */
export async function decidePromotion(args: {
  candidate: PromotionMetrics;
  promotedBefore: Pick<ModelVersionRecord, 'modelId' | 'artifactUri' | 'metrics'> | null;
  artifactsRoot: string;
  tasks: readonly Task[];
  items: ItemCatalog;
  metric: PromotionMetric;
  minImprovement: number;
  force: boolean;
  signal?: AbortSignal;
  /** Required with `metric: 'ndcg20'`: scores the promoted model as the candidate was scored. */
  rankingScore?: RankingScore;
}): Promise<PromotionDecision> {
  const { candidate, promotedBefore, metric, minImprovement } = args;
  const stored = promotedBefore?.metrics['validation']?.[metric];
  const base = {
    metric,
    minImprovement,
    forced: args.force,
    promotedModelId: promotedBefore?.modelId ?? null,
    validationTasks: args.tasks.length,
    candidateValue: candidate[metric] ?? NaN,
    promotedStored: typeof stored === 'number' ? stored : null,
  };
  const decided = (
    better: boolean,
    rest: Pick<PromotionDecision, 'basis' | 'promotedValue' | 'promotedValidation' | 'fallbackReason'>,
  ): PromotionDecision => ({ ...base, ...rest, better, promoted: args.force || better });
  if (!promotedBefore) {
    return decided(true, {
      basis: 'first-model',
      promotedValue: null,
      promotedValidation: null,
      fallbackReason: null,
    });
  }
  const scored = await rescorePromoted(
    promotedBefore,
    args.artifactsRoot,
    args.tasks,
    args.items,
    metric,
    args.signal,
    args.rankingScore,
  );
  if ('error' in scored) {
    return decided(Number.isFinite(candidate[metric] ?? NaN), {
      basis: 'fallback',
      promotedValue: null,
      promotedValidation: null,
      fallbackReason: scored.error,
    });
  }
  return decided(isBetter(metric, candidate, scored.metrics, minImprovement), {
    basis: 'same-split',
    promotedValue: scored.metrics[metric] ?? null,
    promotedValidation: scored.metrics,
    fallbackReason: null,
  });
}
