import {
  describeBackend,
  initBackend,
  metaTrain,
  saveModel,
  supportsClosedFormHead,
  DEFAULT_WARMUP,
  type AdaptSettings,
  type RecommenderModel,
} from '@warmstart/core';
import type { FeatureStore } from '@warmstart/feature-store';
import type { TrainingRunRecord } from '@warmstart/feature-store/registry';
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { loadConfig } from '../config/load';
import type { TrainerConfig } from '../config/schema';
import { readSnapshot } from '../data/from-store';
import { resolveFeatures } from '../data/infer-features';
import { withStore } from '../data/store';
import { buildModel, initBiases } from '../learners/build-model';
import { EarlyStopping } from '../learners/early-stopping';
import { bayesHeadFor, epochsFor, supportSizesFor } from '../learners/head-choice';
import { pretrain } from '../learners/pretrain';
import { fullSupportNdcg20, validationObjective } from '../learners/validation-score';
import { prepareStart, tuneAlsStart } from '../learners/als-embeddings';
import { chooseRanker } from '../learners/ranker';
import { chooseNeighbourhood, type NeighbourhoodChoice } from '../learners/neighbourhood-choice';
import { chooseContentNeighbourhood, type ContentChoice } from '../learners/content-choice';
import { foldInCandidate, resolveNewItems, type NewItemsResolution } from '../learners/new-items-trial';
import { settingKey } from '../learners/ranker-evidence-choice';
import type { NewItemsChoice, NewItemsWay } from '../learners/new-items-choice';
import { trainingHeads, type TrainingHeads } from '../learners/item-fold-in';
import { LeaseLostError, withLease } from '../schedule/lease';
import { checkpointDir, readCheckpoint, writeCheckpoint } from '../train/checkpoint';
import { removeTempArtifacts } from '../train/debris';
import { trainingTasks } from '../train/tasks';
import { decidePromotion, type PromotionDecision } from '../train/promotion';
import {
  checkAgainstBaselines,
  checkAgainstRankingBaselines,
  type BaselineFigures,
} from '../train/baseline-check';
import { validationMetrics, type ValidationMetrics } from '../train/validate-model';
import type { CommandContext } from './context';
import { type FeedbackKind, itemCatalog, validationSet } from '@warmstart/evaluation';
import { isCancellation, stopError, throwIfAborted } from '../util/interrupt';
import { stageBars } from '../util/progress';

export interface TrainFlags {
  database: string;
  artifacts: string;
  config?: string;
  promote?: boolean;
  /** `true`: the latest interrupted run of this kind; a string: that run id. */
  resume?: boolean | string;
  datasetName?: string;
  /** Lease owner id (default `<pid>-<uuid>`); tests use it to take the lease away. */
  leaseOwner?: string;
}

export interface TrainOutcome {
  runId: string;
  modelId: string;
  version: number;
  promoted: boolean;
  validation: Record<string, number>;
  /** Both models' figures on the same validation users and why it was (not) promoted. */
  promotion: PromotionDecision;
  /** The baselines on the same validation users: bias models (explicit), popularity and item-kNN (implicit). */
  baselines: BaselineFigures[];
  /**
   * How the model's new items take their first interactions (`train.newItems` resolved) and, when
   * chosen (`auto`), each way's validation NDCG@20 on pseudo-new items.
   */
  newItems: {
    way: NewItemsWay;
    validationNdcg20?: Record<NewItemsWay, number>;
    /** A rating model with a ranker, `auto`: the liked-evidence choice (learners/new-items-trial.ts). */
    rankerEvidence?: NewItemsResolution['rankerEvidence'];
    /** The pull of a new item's ID bias in the rating model's warm-up, when chosen. */
    ratingWarmUp?: NewItemsResolution['ratingWarmUp'];
  };
  /**
   * The ranking model's item neighbourhood (`train.neighbourhood`): the weight kept (0: none) and
   * each weight's validation score; null when not chosen (`off`, no validation users, or a model
   * that cannot carry one).
   */
  neighbourhood: NeighbourhoodChoice | null;
  /** The content neighbourhood (`train.neighbourhood`) of items added after training, likewise. */
  contentNeighbourhood: ContentChoice | null;
}

export const TRAIN_LOCK = 'train';

/**
 * `train`: snapshot -> feature spec -> tasks -> metaTrain (checkpointed per epoch) -> validation
 * metrics on held-out users -> artifact (written atomically) -> registered candidate -> promoted if
 * it beats the promoted model (or `--promote`). Holds the `train` lease throughout; a failure or
 * Ctrl-C marks the run failed/cancelled and leaves the registry and the promoted model untouched.
 */
export async function trainCommand(
  flags: TrainFlags,
  ctx: CommandContext,
  signal?: AbortSignal,
): Promise<TrainOutcome> {
  const config = loadConfig(flags.config);
  return withStore(flags.database, (store) => {
    const ttlMs = config.schedule.lockTtlSeconds * 1000;
    const run = { id: '' };
    return withLease(
      store.runs,
      {
        name: TRAIN_LOCK,
        ttlMs,
        renewMs: config.schedule.heartbeatSeconds * 1000,
        ...(flags.leaseOwner && { owner: flags.leaseOwner }),
        onRenew: async () => {
          if (!run.id) return;
          const record = await store.runs.heartbeat(run.id);
          if (record.status !== 'running') {
            throw new LeaseLostError(
              `run ${run.id} was marked ${record.status} by another process${record.error ? ` (${record.error})` : ''}`,
            );
          }
        },
      },
      async (leaseSignal) => {
        // We hold the lease, so no live trainer can be running: a `running` run without a
        // heartbeat for a lease lifetime belongs to a process that died.
        await failStaleRuns(store, config, ctx);
        await clearDebris(store, flags, ttlMs, ctx);
        const both = signal ? AbortSignal.any([signal, leaseSignal]) : leaseSignal;
        return trainLocked(store, config, flags, ctx, run, both);
      },
    );
  });
}

/**
 * Marks `running` runs whose heartbeat is older than `schedule.lockTtlSeconds` failed (feature
 * store `failStale`): a live run renews its heartbeat every `heartbeatSeconds` together with the
 * lease, so such a run's process died (or lost the lease and stops on its own).
 */
export async function failStaleRuns(
  store: Pick<FeatureStore, 'runs'>,
  config: TrainerConfig,
  ctx: Pick<CommandContext, 'logger'>,
): Promise<number> {
  const staleMs = config.schedule.lockTtlSeconds * 1000;
  const count = await store.runs.failStale(staleMs);
  if (count > 0) {
    ctx.logger.warn(
      { runs: count, staleSeconds: config.schedule.lockTtlSeconds },
      'heartbeat lost: marked running runs without a heartbeat for lockTtlSeconds as failed',
    );
  }
  return count;
}

/**
 * What a killed `train` leaves, cleared by the next one once it holds the lease: `train` runs
 * still `running` (their process died or lost the lease; recorded consistently with the
 * registry by `runs.settleOrphaned`: succeeded if they promoted a model, else failed) and artifact
 * temp directories of dead writers.
 */
async function clearDebris(
  store: FeatureStore,
  flags: TrainFlags,
  ttlMs: number,
  ctx: CommandContext,
): Promise<void> {
  const settled = await store.runs.settleOrphaned(
    'train',
    'no heartbeat: its process stopped (killed or hung) and the "train" lease expired',
  );
  for (const r of settled)
    ctx.logger.warn(
      { runId: r.id, status: r.status, ...(r.error && { error: r.error }) },
      'recorded the end of a run left running by a stopped process',
    );
  const removed = removeTempArtifacts(resolve(flags.artifacts), ttlMs);
  if (removed.length > 0)
    ctx.logger.warn({ removed }, 'removed artifact temp directories left by stopped processes');
}

async function trainLocked(
  store: FeatureStore,
  config: TrainerConfig,
  flags: TrainFlags,
  ctx: CommandContext,
  run: { id: string },
  signal?: AbortSignal,
): Promise<TrainOutcome> {
  const resumeFrom = flags.resume ? await findResumable(store, flags, ctx) : undefined;
  const started = await store.runs.start({
    kind: 'train',
    config: { ...config, resumedFrom: resumeFrom?.runId ?? null },
  });
  run.id = started.id;
  ctx.logger.info({ runId: run.id, resumedFrom: resumeFrom?.runId }, 'training run started');
  try {
    const outcome = await trainRun(store, config, flags, ctx, run.id, resumeFrom, signal);
    await store.runs.finish(run.id, {
      validation: outcome.validation,
      modelId: outcome.modelId,
      promoted: outcome.promoted,
      promotion: outcome.promotion,
      baselines: outcome.baselines,
    });
    return outcome;
  } catch (err) {
    try {
      if (isCancellation(err)) {
        await store.runs.cancel(run.id);
        ctx.logger.warn({ runId: run.id }, 'training cancelled; resume with --resume');
      } else {
        // A run that already promoted its model is recorded succeeded (settle), not failed.
        await store.runs.settle(run.id, err instanceof Error ? err.message : String(err));
        if (err instanceof LeaseLostError)
          ctx.logger.error({ runId: run.id, err: err.message }, 'training stopped');
      }
    } catch (recordErr) {
      // e.g. another process already marked the run failed (heartbeat lost): keep the first error
      ctx.logger.warn(
        { runId: run.id, err: (recordErr as Error).message },
        'could not record the run outcome',
      );
    }
    throw err;
  }
}

/** The run id a run resumed from (`config.resumedFrom`), if any. */
function resumedFromOf(run: TrainingRunRecord): string | undefined {
  const from = (run.config as { resumedFrom?: unknown } | null)?.resumedFrom;
  return typeof from === 'string' ? from : undefined;
}

/**
 * Deletes a run's checkpoint directory. Only directories named like ours
 * (`<artifacts>/.checkpoints/<runId>`) are touched, whatever the database says.
 */
function dropCheckpoint(dir: string | null, runId: string): boolean {
  if (!dir || basename(dir) !== runId || basename(dirname(dir)) !== '.checkpoints' || !existsSync(dir))
    return false;
  rmSync(dir, { recursive: true, force: true });
  return true;
}

/**
 * The run `--resume` continues: the given one, or the newest failed or cancelled `train` run with a
 * checkpoint on disk. A run is resumed at most once: a run that resumed it and succeeded, or wrote
 * a checkpoint of its own, supersedes it (its checkpoint is deleted then; leftovers are deleted here).
 */
async function findResumable(
  store: FeatureStore,
  flags: TrainFlags,
  ctx: CommandContext,
): Promise<{ runId: string; dir: string }> {
  const runs = (await store.runs.list({ limit: 500 })).filter((r) => r.kind === 'train');
  const supersededBy = new Map<string, string>();
  for (const r of runs) {
    const from = resumedFromOf(r);
    if (from && (r.status === 'succeeded' || r.checkpoint)) supersededBy.set(from, r.id);
  }
  for (const r of runs) {
    if (supersededBy.has(r.id) && dropCheckpoint(r.checkpoint, r.id)) {
      await store.runs.clearCheckpoint(r.id);
      ctx.logger.info({ runId: r.id, resumedBy: supersededBy.get(r.id) }, 'deleted a superseded checkpoint');
    }
  }
  if (typeof flags.resume === 'string') {
    const r = await store.runs.get(flags.resume);
    if (!r) throw new Error(`--resume: run ${flags.resume} not found`);
    const by = supersededBy.get(r.id);
    if (by)
      throw new Error(`--resume: run ${r.id} was already resumed by run ${by}; resume that one instead`);
    if (r.status === 'succeeded' || r.status === 'running')
      throw new Error(`--resume: run ${r.id} is ${r.status}; only failed or cancelled runs can be resumed`);
    if (!r.checkpoint || !existsSync(r.checkpoint))
      throw new Error(`--resume: run ${flags.resume} has no checkpoint on disk`);
    return { runId: r.id, dir: r.checkpoint };
  }
  for (const r of runs) {
    if (r.status !== 'failed' && r.status !== 'cancelled') continue;
    if (supersededBy.has(r.id)) continue;
    if (r.checkpoint && existsSync(r.checkpoint)) return { runId: r.id, dir: r.checkpoint };
  }
  throw new Error(
    '--resume: no interrupted training run with a checkpoint was found (a run that was already resumed is not resumed again)',
  );
}

async function trainRun(
  store: FeatureStore,
  config: TrainerConfig,
  flags: TrainFlags,
  ctx: CommandContext,
  runId: string,
  resumeFrom: { runId: string; dir: string } | undefined,
  signal?: AbortSignal,
): Promise<TrainOutcome> {
  const backend = await initBackend();
  const watermark = (await store.latestEventTime()) ?? new Date();
  const dataset = await readSnapshot(store, flags.datasetName, watermark);
  // `train.bayesHead` / `train.supportSizes` `auto` follow the data's feedback kind (head-choice.ts).
  const kind: FeedbackKind = dataset.kind ?? 'explicit';
  const t = config.train;
  const { train, validation } = trainingTasks(dataset, t, t.seed, t.validationFraction);
  if (train.length === 0)
    throw new Error(`no user has >= ${t.minRatings} ratings in ${flags.database}; import data first`);
  ctx.logger.info(
    {
      backend: describeBackend(backend),
      ...(backend.nativeKernels.reason && { stockKernels: backend.nativeKernels.reason }),
      users: dataset.users.length,
      items: dataset.items.length,
      ratings: dataset.ratings.length,
      trainTasks: train.length,
      validationTasks: validation.length,
    },
    'snapshot loaded',
  );
  const items = itemCatalog(dataset.items);
  // No `features` in the config and no MovieLens fields in the data: declarations inferred from it.
  const features = resolveFeatures(config.features, dataset.users, dataset.items);
  if (features.inferred.user || features.inferred.item)
    ctx.logger.info(
      { features: features.features, skipped: features.skipped },
      'features inferred from the data',
    );
  const lossHistory: number[] = [];
  let model: RecommenderModel;
  let firstEpoch = 0;
  if (resumeFrom) {
    const cp = await readCheckpoint(resumeFrom.dir);
    model = cp.model;
    firstEpoch = cp.epochsDone;
    ctx.logger.info({ from: resumeFrom.runId, epochsDone: firstEpoch }, 'resuming from checkpoint');
  } else {
    // Implicit data trains a ranking model with sampled negatives (train.negatives); explicit
    // data fits the scale its import declared (else model.ratingRange).
    const feedback =
      dataset.kind === 'implicit'
        ? { kind: 'implicit' as const, scale: [0, 1] as [number, number], negatives: t.negatives }
        : dataset.scale
          ? { kind: 'explicit' as const, scale: dataset.scale }
          : undefined;
    model = buildModel(
      features.features,
      // The Bayesian head and ANIL are head-only models from the start (pretraining and the
      // starting point's validation included); metaTrain would switch anil to it anyway.
      bayesHeadOf(config, kind) || t.algorithm === 'anil'
        ? { ...config.model, localGroups: ['output'] }
        : config.model,
      dataset.users,
      dataset.items,
      train,
      t.seed,
      feedback,
      { bayesHead: bayesHeadOf(config, kind) },
    );
    await initBiases(model, config.model, train, items);
    prepareStart(model, config.model, { train, items, seed: t.seed, kind });
    if (t.pretrainEpochs > 0) {
      ctx.logger.info({ epochs: t.pretrainEpochs }, 'pretraining (plain regression)');
      const pre = await pretrain(
        model,
        train,
        items,
        {
          outerLr: t.outerLr,
          metaBatchSize: t.metaBatchSize,
          epochs: t.pretrainEpochs,
          seed: t.seed,
          freezeItemBiases: config.model.freezeItemBiases,
        },
        signal,
      );
      lossHistory.push(...pre.lossHistory);
    }
  }
  const artifacts = resolve(flags.artifacts);
  const cpDir = checkpointDir(artifacts, runId);
  // The choices on validation users outside the epochs show their progress as bars of their own.
  const stages = stageBars(ctx.progress);
  try {
    const perEpoch = Math.ceil(train.length / t.metaBatchSize);
    const epochs = epochsFor(t.epochs, kind);
    // Early stopping (train.patience) keeps the epoch with the best validation MAE; after --resume
    // it starts afresh from the resumed epoch.
    const validationTasks = validationSet(validation, items, t.coldItemValidation);
    const stopper =
      t.patience > 0 && validation.length > 0 ? new EarlyStopping(model, t.patience) : undefined;
    // Implicit data: minus NDCG@20 of full-catalog ranking; explicit: MAE (validation-score.ts).
    const objective = validationObjective(model, validationTasks, {
      train,
      validation,
      items,
      kind,
      scale: kind === 'implicit' ? [0, 1] : (dataset.scale ?? config.model.ratingRange),
      signal,
    });
    // A fresh model's ALS start takes the confidence that validates best (als-embeddings.ts).
    const start =
      firstEpoch === 0 && t.pretrainEpochs === 0 && validation.length > 0
        ? await tuneAlsStart(
            model,
            config.model,
            { train, items, seed: t.seed, kind, onProgress: stages.onProgress },
            () => objective(adaptOf(config, model, kind)),
          )
        : null;
    if (start)
      ctx.logger.info(
        {
          alpha: start.alpha,
          itemBiases: start.itemBiases,
          evidenceGrowth: start.evidenceGrowth,
          liftScale: start.liftScale,
          validationScores: start.scores,
        },
        'ALS start chosen',
      );
    // A fresh model's starting point competes too (epoch 0: kept when no epoch beats it).
    if (stopper && firstEpoch === 0) {
      const score = start?.score ?? (await objective(adaptOf(config, model, kind)));
      ctx.logger.info({ epoch: 0, validationScore: score }, 'starting point validated');
      stopper.observe(-1, score);
    }
    const bar = ctx.progress.start('meta-train', (epochs - firstEpoch) * perEpoch);
    try {
      for (let epoch = firstEpoch; epoch < epochs; epoch++) {
        throwIfAborted(signal);
        // One epoch per call so every epoch can be checkpointed; the seed varies the task order.
        const result = await metaTrain(
          model,
          train,
          items,
          {
            algorithm: t.algorithm,
            innerSteps: t.innerSteps,
            innerLr: t.innerLr,
            innerRidge: innerRidgeOf(config, kind),
            outerLr: t.outerLr,
            metaBatchSize: t.metaBatchSize,
            epochs: 1,
            seed: t.seed * 1000 + epoch,
            freezeItemBiases: config.model.freezeItemBiases,
            supportSizes: supportSizesFor(t.supportSizes, kind),
            bayesLoss: t.bayesLoss,
          },
          (p) =>
            bar.update((epoch - firstEpoch) * perEpoch + p.metaBatch, { epoch: epoch + 1, loss: p.loss }),
          signal,
        );
        lossHistory.push(...result.lossHistory);
        if (result.aborted) throw stopError(signal, 'training interrupted');
        if (stopper) {
          const score = await objective(adaptOf(config, model, kind));
          ctx.logger.info({ epoch: epoch + 1, validationScore: score }, 'epoch validated');
          if (stopper.observe(epoch, score) === 'stop') break;
        }
        if ((epoch + 1) % t.checkpointEvery === 0 && epoch + 1 < epochs) {
          await writeCheckpoint(model, cpDir, epoch + 1, runId);
          await store.runs.heartbeat(runId, cpDir);
          // This run's checkpoint is further along: the one it resumed from is superseded.
          if (resumeFrom) await supersede(store, resumeFrom, runId, ctx);
        }
      }
    } finally {
      bar.stop();
    }
    const best = stopper?.finish();
    if (best) ctx.logger.info({ epoch: best.epoch + 1, validationScore: best.score }, 'kept the best epoch');
    // The artifact carries the adaptation validated here, so serving adapts the same way.
    model.adaptDefaults = adaptOf(config, model, kind);
    const adapt = model.adaptDefaults;
    const metrics: ValidationMetrics & { ndcg20?: number } = await validationMetrics(
      model,
      validation,
      items,
      adapt,
      signal,
    );
    // Implicit data: the full-catalog NDCG@20 at full support, the figure the baselines have too
    // (the objective the choices maximised also averages in the first 1 and 3 interactions).
    const rankingContext = { train, validation, items, kind, scale: [0, 1] as [number, number], signal };
    if (kind === 'implicit' && validation.length > 0)
      metrics.ndcg20 = await fullSupportNdcg20(model, adapt, rankingContext);
    // Explicit data: the ranker that orders candidates (learners/ranker.ts), chosen on the same users.
    if (kind === 'explicit') {
      const choice = await chooseRanker(model, t.ranker, features.features, config.model, {
        train,
        validation,
        items,
        users: dataset.users,
        seed: t.seed,
        kind,
        scale: dataset.scale ?? config.model.ratingRange,
        signal,
        onProgress: stages.onProgress,
      });
      if (!Number.isNaN(choice.ndcg20.ranker)) {
        metrics.ndcg20 = choice.attached ? choice.ndcg20.ranker : choice.ndcg20.rating;
        ctx.logger.info(
          {
            ranker: choice.attached,
            validationNdcg20: choice.ndcg20,
            alsAlpha: choice.alsAlpha,
            evidenceGrowth: choice.evidenceGrowth,
            liftScale: choice.liftScale,
          },
          choice.attached ? 'ranker kept' : 'ranker dropped: the rating model ranks better',
        );
      }
    }
    // The ranking model's item neighbourhood (learners/neighbourhood-choice.ts), weighted as the
    // same validation users rank best; the validation NDCG@20 is then the final model's.
    const scale =
      kind === 'implicit' ? ([0, 1] as [number, number]) : (dataset.scale ?? config.model.ratingRange);
    const neighbourhood = await chooseNeighbourhood(
      model,
      t.neighbourhood,
      { train, validation, items, kind, scale, signal, onProgress: stages.onProgress },
      adapt,
    );
    if (neighbourhood) {
      if (neighbourhood.weight > 0)
        metrics.ndcg20 = await fullSupportNdcg20(model, adapt, { ...rankingContext, kind, scale });
      ctx.logger.info(
        {
          weight: neighbourhood.weight,
          entries: neighbourhood.entries,
          validationScores: neighbourhood.scores,
        },
        neighbourhood.weight > 0
          ? 'item neighbourhood kept'
          : 'item neighbourhood dropped: the network alone ranks better',
      );
    }
    // The content neighbourhood of items added after training (learners/content-choice.ts).
    const content = await chooseContentNeighbourhood(
      model,
      t.neighbourhood,
      { train, validation, items, seed: t.seed, kind, scale, signal, onProgress: stages.onProgress },
      adapt,
    );
    if (content)
      ctx.logger.info(
        {
          weight: content.weight,
          items: content.items,
          tasks: content.tasks,
          validationScores: content.scores,
        },
        content.weight > 0
          ? 'content neighbourhood kept'
          : 'content neighbourhood dropped: the network alone ranks pseudo-new items better',
      );
    // How new items take their first interactions (train.newItems): the fold-in carries the
    // training users' user base in the artifact, so serving folds new items in too.
    const heads = new Map<RecommenderModel, TrainingHeads>();
    const headsOf = (m: RecommenderModel) => {
      if (!heads.has(m)) heads.set(m, trainingHeads(m, train, items));
      return heads.get(m)!;
    };
    const newItems = await resolveNewItems(model, t.newItems, {
      train,
      validation,
      items,
      seed: t.seed,
      kind,
      scale: kind === 'implicit' ? [0, 1] : (dataset.scale ?? config.model.ratingRange),
      signal,
      onProgress: stages.onProgress,
      users: new Map(dataset.users.map((u) => [u.id, u])),
      adaptOptions: adapt,
      trainingHeads: headsOf,
    });
    const folding = newItems.way === 'fold-in' ? foldInCandidate(model) : null;
    if (folding) folding.foldInBase = headsOf(folding).base;
    ctx.logger.info(
      {
        newItems: newItems.way,
        ...(newItems.choice && { validationNdcg20: newItems.choice.scores }),
        ...(newItems.rankerEvidence && { rankerEvidence: newItems.rankerEvidence }),
        ...(newItems.ratingWarmUp && { ratingWarmUp: newItems.ratingWarmUp }),
      },
      `new items: ${newItems.way}` +
        describeRankerEvidence(newItems.rankerEvidence) +
        describeRatingWarmUp(newItems.ratingWarmUp),
    );
    ctx.logger.info({ validation: metrics }, 'validation metrics');
    throwIfAborted(signal);
    const baselineData = { train, validation, items, users: dataset.users, signal };
    const baselines =
      kind === 'explicit'
        ? await checkAgainstBaselines(
            metrics,
            baselineData,
            dataset.scale ?? config.model.ratingRange,
            config.promotion.metric,
            t.seed,
          )
        : await checkAgainstRankingBaselines(metrics.ndcg20 ?? NaN, baselineData, t.seed);
    const winners = baselines.filter((b) => b.beatsCandidate);
    for (const b of winners) {
      ctx.logger.warn(
        {
          baseline: b.name,
          metric: b.metric,
          baselineValue: b.metrics[b.metric],
        },
        `the ${b.name} baseline beats the candidate on the validation users (promotion still follows promotion.metric)`,
      );
    }
    throwIfAborted(signal);
    // Promotion compares like with like: the promoted model is re-scored on these validation users
    // (its registry metrics were measured on its own run's split). Done before anything is written,
    // so a Ctrl-C here leaves no artifact.
    const promotedBefore = await store.registry.getPromoted();
    // Implicit data is compared on NDCG@20 (promotion.ts, PromotionMetric); the promoted model is
    // ranked the way the candidate was (rankingContext), adapting with its own served settings.
    const decision = await decidePromotion({
      candidate: metrics,
      promotedBefore,
      artifactsRoot: artifacts,
      tasks: validation,
      items,
      metric: kind === 'implicit' ? 'ndcg20' : config.promotion.metric,
      minImprovement: config.promotion.minImprovement,
      force: Boolean(flags.promote),
      signal,
      ...(kind === 'implicit' && {
        rankingScore: (promoted: RecommenderModel) =>
          fullSupportNdcg20(promoted, promoted.adaptDefaults, rankingContext),
      }),
    });
    if (decision.basis === 'fallback') {
      ctx.logger.warn(
        { promotedModelId: decision.promotedModelId, reason: decision.fallbackReason },
        'the promoted model cannot be evaluated on the validation users; promoting the candidate if its metric is finite',
      );
    }
    throwIfAborted(signal);
    const modelId = `m-${new Date()
      .toISOString()
      .replace(/[-:TZ.]/g, '')
      .slice(0, 14)}-${randomBytes(3).toString('hex')}`;
    await saveModel(model, join(artifacts, modelId), {
      watermark,
      metrics: Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`validation.${k}`, v])),
      labels: { modelId, runId },
    });
    const record = await store.registry.registerModel({
      modelId,
      algorithm: t.algorithm,
      artifactUri: modelId,
      // Each baseline's validation figures next to the candidate's (`baseline.<name>`).
      metrics: {
        validation: metrics,
        ...Object.fromEntries(baselines.map((b) => [`baseline.${b.name}`, b.metrics])),
        // Each way of taking new items' first interactions, when train.newItems chose between them.
        ...(newItems.choice && { 'new-items': newItems.choice.scores }),
        // A ranker's new-item evidence: every rating positive against the liked ones, when chosen between.
        ...(newItems.rankerEvidence && { 'ranker-evidence': newItems.rankerEvidence.scores }),
        // The pull of a new item's ID bias in the rating model's warm-up, when chosen.
        ...(newItems.ratingWarmUp && { 'rating-warm-up': newItems.ratingWarmUp.scores }),
        // Each weight of the item neighbourhood, when train.neighbourhood chose among them.
        ...(neighbourhood && { neighbourhood: neighbourhood.scores }),
        // Each weight of the content neighbourhood on pseudo-new items, when chosen among them.
        ...(content && { 'content-neighbourhood': content.scores }),
      },
      dataWatermark: watermark,
      runId,
    });
    if (decision.promoted) await store.registry.promote(modelId);
    ctx.logger.info({ modelId, ...decision }, decision.promoted ? 'promoted' : 'not promoted');
    rmSync(cpDir, { recursive: true, force: true });
    if (resumeFrom) await supersede(store, resumeFrom, runId, ctx);
    ctx.out(
      `registered ${modelId} (v${record.version}, ${t.algorithm}) validation ${describeValidation(metrics, kind)}; ` +
        describeDecision(decision) +
        describeBaselines(baselines) +
        describeNewItems(newItems.way, newItems.choice) +
        describeRankerEvidence(newItems.rankerEvidence) +
        describeRatingWarmUp(newItems.ratingWarmUp) +
        (neighbourhood ? `; item neighbourhood weight ${neighbourhood.weight}` : '') +
        (content ? `; content neighbourhood weight ${content.weight}` : '') +
        (resumeFrom ? `; resumed from run ${resumeFrom.runId}` : ''),
    );
    return {
      runId,
      modelId,
      version: record.version,
      promoted: decision.promoted,
      validation: metrics,
      promotion: decision,
      baselines,
      newItems: {
        way: newItems.way,
        ...(newItems.choice && { validationNdcg20: newItems.choice.scores }),
        ...(newItems.rankerEvidence && { rankerEvidence: newItems.rankerEvidence }),
        ...(newItems.ratingWarmUp && { ratingWarmUp: newItems.ratingWarmUp }),
      },
      neighbourhood,
      contentNeighbourhood: content,
    };
  } finally {
    stages.stop();
    model.dispose();
  }
}

/**
 * `MAE 0.7311 nDCG@3 0.8765`, then the full-catalog `NDCG@20` when measured (explicit data with a
 * ranker); on implicit data NDCG@20 alone, the figure its choices maximised and promotion compares
 * (a query of positives only has no error or order to measure).
 */
function describeValidation(m: ValidationMetrics & { ndcg20?: number }, kind: FeedbackKind): string {
  const rating = `MAE ${m.mae.toFixed(4)} nDCG@3 ${m.ndcg3.toFixed(4)}`;
  if (m.ndcg20 === undefined) return rating;
  const ndcg20 = `NDCG@20 ${m.ndcg20.toFixed(4)}`;
  return kind === 'implicit' ? ndcg20 : `${rating} ${ndcg20}`;
}

/** `; baseline user-item-bias is better on validation (mae 0.7483)` for each baseline that wins. */
function describeBaselines(baselines: readonly BaselineFigures[]): string {
  return baselines
    .filter((b) => b.beatsCandidate)
    .map(
      (b) => `; baseline ${b.name} is better on validation (${b.metric} ${b.metrics[b.metric].toFixed(4)})`,
    )
    .join('');
}

/** The promotion part of `train`'s result line. */
function describeDecision(d: PromotionDecision): string {
  const f = (v: number) => v.toFixed(4);
  const versus =
    d.promotedValue === null
      ? ''
      : `${d.metric} ${f(d.candidateValue)} vs ${f(d.promotedValue)} for ${d.promotedModelId} on the same ${d.validationTasks} validation users`;
  if (d.basis === 'first-model') return 'promoted (first model)';
  if (d.basis === 'fallback') {
    const why = `${d.promotedModelId} could not be evaluated: ${d.fallbackReason}`;
    if (d.better) return `promoted (${why})`;
    return d.forced
      ? `promoted (--promote; ${why})`
      : `not promoted: ${d.metric} ${d.candidateValue} is not finite (${why})`;
  }
  if (d.better) return `promoted (${versus})`;
  if (d.forced) return `promoted (--promote; ${versus})`;
  return `not promoted: ${versus}${d.minImprovement > 0 ? ` (needs an improvement > ${d.minImprovement})` : ''}`;
}

/** Deletes the checkpoint a run resumed from (and its record of it), so `--resume` never picks it up again. */
async function supersede(
  store: FeatureStore,
  resumeFrom: { runId: string; dir: string },
  runId: string,
  ctx: CommandContext,
): Promise<void> {
  if (dropCheckpoint(resumeFrom.dir, resumeFrom.runId)) {
    await store.runs.clearCheckpoint(resumeFrom.runId);
    ctx.logger.info({ runId: resumeFrom.runId, resumedBy: runId }, 'deleted the resumed-from checkpoint');
  }
}

/**
 * The configured adaptation (also the serving default written into the artifact): `adapt`, the
 * ridge penalty falling back to the one meta-training used.
 */
function adaptOf(config: TrainerConfig, model: RecommenderModel, kind: FeedbackKind): AdaptSettings {
  return {
    steps: config.adapt.steps ?? model.adaptDefaults.steps,
    lr: config.adapt.lr ?? model.adaptDefaults.lr,
    // The Bayesian head adapts to its posterior (the artifact's config says so); no ridge.
    ridge:
      supportsClosedFormHead(config.model.localGroups, config.train.algorithm) && !bayesHeadOf(config, kind)
        ? (config.adapt.ridge ?? config.train.innerRidge)
        : null,
    // Chosen with the ALS start (learners/als-embeddings.ts), absent otherwise.
    ...(model.adaptDefaults.evidenceGrowth !== undefined && {
      evidenceGrowth: model.adaptDefaults.evidenceGrowth,
    }),
  };
}

/** The output line's note on new items: the way, and both validation figures when it was chosen. */
/** "; the ranker takes new items' ratings >= 3.8 as positives, …, warm-up prior 5 (…)" or "" without a choice. */
function describeRankerEvidence(e: NewItemsResolution['rankerEvidence']): string {
  if (!e) return '';
  const { min, prior } = e.kept;
  const takes =
    min === null
      ? 'every rating of new items as a positive'
      : `new items' ratings >= ${min} as positives, the others as negatives`;
  const first = settingKey({ min: null, prior: DEFAULT_WARMUP.prior });
  const scores = `validation NDCG@20 on pseudo-new items ${e.scores[settingKey(e.kept)]!.toFixed(4)}, ${first} ${e.scores[first]!.toFixed(4)}`;
  return `; the ranker takes ${takes}, warm-up prior ${prior} (${scores})`;
}

/** "; new items' ID bias pull 2 in the warm-up (validation MAE on pseudo-new items …, default 20 …)" or "". */
function describeRatingWarmUp(w: NewItemsResolution['ratingWarmUp']): string {
  if (!w) return '';
  const first = String(DEFAULT_WARMUP.prior);
  return (
    `; new items' ID bias pull ${w.biasPrior} in the rating model's warm-up (validation MAE on ` +
    `pseudo-new items ${w.scores[String(w.biasPrior)]!.toFixed(4)}, ${first} ${w.scores[first]!.toFixed(4)})`
  );
}

function describeNewItems(way: NewItemsWay, choice: NewItemsChoice | null): string {
  if (!choice) return `; new items: ${way}`;
  const other: NewItemsWay = way === 'fold-in' ? 'warm-up' : 'fold-in';
  return `; new items: ${way} (validation NDCG@20 on pseudo-new items ${choice.scores[way].toFixed(4)}, ${other} ${choice.scores[other].toFixed(4)})`;
}

/** `train.bayesHead` for head-only algorithms (the Bayesian head adapts the head only). */
function bayesHeadOf(config: TrainerConfig, kind: FeedbackKind): boolean {
  return (
    bayesHeadFor(config.train.bayesHead, kind) &&
    supportsClosedFormHead(config.model.localGroups, config.train.algorithm)
  );
}

/** `train.innerRidge` for head-only algorithms without the Bayesian head; the others: null. */
function innerRidgeOf(config: TrainerConfig, kind: FeedbackKind): number | null {
  const headOnly = supportsClosedFormHead(config.model.localGroups, config.train.algorithm);
  return headOnly && !bayesHeadOf(config, kind) ? config.train.innerRidge : null;
}
