import { loadModel } from '@warmstart/core';
import type { ModelVersionRecord } from '@warmstart/feature-store/registry';
import { resolve } from 'node:path';
import { isBetter, validationMetrics, type ValidationMetrics } from './validate-model';
import { type ItemCatalog, type Task } from '@warmstart/evaluation';
import { isCancellation } from '../util/interrupt';

export type PromotionMetric = 'mae' | 'rmse' | 'ndcg3';

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
  /** All four figures of the promoted model on this run's validation users, when scored. */
  promotedValidation: ValidationMetrics | null;
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
 * Returns the reason instead when its artifact cannot be loaded or scored; every tensor of the
 * loaded model is freed. Cancellation (Ctrl-C, a lost lease) is rethrown.
 */
export async function rescorePromoted(
  promoted: Pick<ModelVersionRecord, 'modelId' | 'artifactUri'>,
  artifactsRoot: string,
  tasks: readonly Task[],
  items: ItemCatalog,
  metric: PromotionMetric,
  signal?: AbortSignal,
): Promise<{ metrics: ValidationMetrics } | { error: string }> {
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
    const metrics = await validationMetrics(model, tasks, items, model.adaptDefaults, signal);
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
  candidate: ValidationMetrics;
  promotedBefore: Pick<ModelVersionRecord, 'modelId' | 'artifactUri' | 'metrics'> | null;
  artifactsRoot: string;
  tasks: readonly Task[];
  items: ItemCatalog;
  metric: PromotionMetric;
  minImprovement: number;
  force: boolean;
  signal?: AbortSignal;
}): Promise<PromotionDecision> {
  const { candidate, promotedBefore, metric, minImprovement } = args;
  const stored = promotedBefore?.metrics['validation']?.[metric];
  const base = {
    metric,
    minImprovement,
    forced: args.force,
    promotedModelId: promotedBefore?.modelId ?? null,
    validationTasks: args.tasks.length,
    candidateValue: candidate[metric],
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
  );
  if ('error' in scored) {
    return decided(Number.isFinite(candidate[metric]), {
      basis: 'fallback',
      promotedValue: null,
      promotedValidation: null,
      fallbackReason: scored.error,
    });
  }
  return decided(isBetter(metric, candidate, scored.metrics, minImprovement), {
    basis: 'same-split',
    promotedValue: scored.metrics[metric],
    promotedValidation: scored.metrics,
    fallbackReason: null,
  });
}
