import type { WarmUpOptions } from '@warmstart/core';
import type { FeedbackKind, ItemCatalog, RatingEvent, Task, UserRecord } from '../data/types';
import type { ItemWarmupStats } from './item-warmup';

/** What a method gets to learn from: only warm data (P1 never trains on cold scenarios). */
export interface FitContext {
  /** Warm meta-training tasks; baselines use their support and query ratings as plain ratings. */
  train: readonly Task[];
  /** Held-out warm users, for tuning and early stopping. Never a cold scenario. */
  validation: readonly Task[];
  items: ItemCatalog;
  /** Every user record (features only, no ratings), e.g. for feature vocabularies. */
  users: readonly UserRecord[];
  seed: number;
  signal?: AbortSignal;
  onProgress?: (progress: FitProgress) => void;
  /** P2: the feedback kind and scale (P1: explicit, [1, 5]). */
  kind: FeedbackKind;
  scale: [number, number];
  /** True when `rank` will be called (P2): a method may then prepare what ranking needs. */
  ranks?: boolean;
}

export interface RankOptions {
  /**
   * Interactions beyond each task's own support that the method may learn item-side facts from
   * (P2's new-item k-shot curve: each new item's first k interactions, pooled over users). Empty
   * or absent otherwise. Never includes a task's query interactions.
   */
  itemEvidence?: readonly RatingEvent[];
  signal?: AbortSignal;
}

/**
 * Progress inside `fit`: `done` of `total` steps of training (meta-batches or minibatches), or,
 * with `stage`, of a step outside the training epochs (e.g. the candidates of a choice made on the
 * validation users), which can take as long as training on a large catalog.
 */
export interface FitProgress {
  done: number;
  /** Planned steps; early stopping may end before. 0: unknown. */
  total: number;
  /** 1-based training epoch, when the method trains in epochs. */
  epoch?: number;
  loss?: number;
  /** What the method is doing outside its training epochs; `done`/`total` then count its own steps. */
  stage?: string;
}

export interface FitResult {
  /** Meta-training (or training) loss per logged step, for the report's loss curves. */
  lossHistory: number[];
  /** Where the computation ran: `js` for plain TypeScript baselines, the tfjs backend otherwise. */
  backend: string;
  /** Hyper-parameters picked on the validation split, if any. */
  tuned?: Record<string, unknown>;
}

/** A rating predictor in the P1 harness: fit once per seed, then predict each task's query set. */
export interface EvalMethod {
  readonly name: string;
  fit(ctx: FitContext): Promise<FitResult>;
  /**
   * Explicit data: one prediction per query rating of each task, after adapting on that task's
   * support set, optionally with item evidence (P2's new-item k-shot curve).
   */
  predict(
    tasks: readonly Task[],
    items: ItemCatalog,
    signal?: AbortSignal,
    options?: RankOptions,
  ): Promise<Float32Array[]>;
  /**
   * P2 full-catalog ranking: for each task, one score per entry of `candidates` (same order; higher
   * = more likely to be relevant), after adapting on that task's support set. The harness excludes
   * the task's support items and computes Recall@20 / NDCG@20 / HR@10. Called in chunks of tasks.
   * P1 never calls it.
   */
  rank(
    tasks: readonly Task[],
    candidates: readonly string[],
    items: ItemCatalog,
    options?: RankOptions,
  ): Promise<Float32Array[]>;
  /**
   * The "+item-warmup" variant (see item-warmup.ts): warms up the items new to the fitted model on
   * the support ratings of `tasks` (one batched call), then predicts as `predict` does with the
   * warmed rows. Resolves to null when the model cannot warm items up (no ID embeddings). Methods
   * without the variant leave it out.
   */
  predictWithItemWarmup?(
    tasks: readonly Task[],
    items: ItemCatalog,
    options: WarmUpOptions,
    signal?: AbortSignal,
  ): Promise<{ predictions: Float32Array[]; stats: ItemWarmupStats } | null>;
  dispose?(): void;
}
