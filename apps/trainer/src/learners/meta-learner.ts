import {
  describeBackend,
  initBackend,
  rankerEvidence,
  type SupportSizes,
  metaTrain,
  type AdaptOptions,
  type AdaptSettings,
  type RecommenderModel,
  supportsItemFoldIn,
  type TrainProgress,
  type WarmUpOptions,
  warmUpItems,
} from '@warmstart/core';
import { performance } from 'node:perf_hooks';
import type {
  AdaptSection,
  Algorithm,
  ModelSection,
  NegativesSection,
  TrainerConfig,
} from '../config/schema';
import { buildModel, initBiases } from './build-model';
import { prepareStart, tuneAlsStart } from './als-embeddings';
import { predictTasks } from './predict';
import { pretrain } from './pretrain';
import { EarlyStopping } from './early-stopping';
import { chooseRanker, type RankerSetting } from './ranker';
import { rankTasks, warmRowsFromEvidence } from './rank-tasks';
import { foldInRowsFromEvidence, trainingHeads, type TrainingHeads } from './item-fold-in';
import { chooseNeighbourhood, type NeighbourhoodSetting } from './neighbourhood-choice';
import { chooseContentNeighbourhood } from './content-choice';
import type { NewItemsWay } from './new-items-choice';
import { resolveNewItems } from './new-items-trial';
import { learnerAdaptCandidates, tuneAdapt } from './tune-adapt';
import { validationObjective } from './validation-score';
import {
  CancelledError,
  type EvalMethod,
  type FitContext,
  type FitResult,
  isCancellation,
  type ItemCatalog,
  itemWarmupRequests,
  type ItemWarmupStats,
  type RankOptions,
  type RatingEvent,
  type Task,
  type UserRecord,
  validationSet,
} from '@warmstart/evaluation';

export interface LearnerSettings {
  name: string;
  algorithm: Algorithm;
  innerSteps: number;
  innerLr: number;
  /** Closed-form ridge head instead of the inner steps during meta-training (null: steps). */
  innerRidge: number | null;
  outerLr: number;
  metaBatchSize: number;
  epochs: number;
  /** Plain-regression epochs before meta-training (0: meta-train from the initialisation). */
  pretrainEpochs: number;
  model: ModelSection;
  adapt: AdaptSection;
  /** Pick the adaptation steps and rate on the warm validation users (see tune-adapt.ts). */
  tuneAdapt: boolean;
  /**
   * Early stopping: after each meta-training epoch, validation MAE (configured `adapt`) is measured;
   * training stops after this many epochs without improvement and the best epoch's weights are
   * kept. 0: off (train `epochs` and keep the last).
   */
  patience: number;
  /** Validation also scores the validation users' items with hidden IDs (see validationSet). */
  coldItemValidation: boolean;
  /** Implicit data: negative sampling (`train.negatives`). */
  negatives: NegativesSection;
  /** Bayesian last layer (`train.bayesHead`): adapt to its posterior; no ridge, no adaptation grid. */
  bayesHead: boolean;
  /** Explicit data: the ranker (`train.ranker`, learners/ranker.ts), built when the harness ranks. */
  ranker: RankerSetting;
  bayesLoss: 'nll' | 'mse';
  /** The ranking model's item neighbourhood (`train.neighbourhood`, learners/neighbourhood-choice.ts). */
  neighbourhood: NeighbourhoodSetting;
  /** Support sizes of the meta-training episodes (`train.supportSizes`). */
  supportSizes: SupportSizes;
  /** How new items take P2's item evidence (`train.newItems`; `auto`: chosen on validation users). */
  newItems: NewItemsWay | 'auto';
}

/** The configured adaptation: `adapt`, with the ridge penalty falling back to the training one. */
function configuredAdapt(s: LearnerSettings): AdaptSettings {
  return { steps: s.adapt.steps, lr: s.adapt.lr, ridge: s.adapt.ridge ?? s.innerRidge };
}

/** A meta-learned model (MAML, FOMAML, Reptile, Meta-SGD, MeLU) in the P1 harness. */
export class MetaLearner implements EvalMethod {
  private model?: RecommenderModel;
  /** Adaptation used by `predict`: the configured one, or the best on validation users (`tuneAdapt`). */
  private adaptOptions?: AdaptSettings;
  /** Every user record by id (item evidence names users by id). */
  private users = new Map<string, UserRecord>();
  /** The ID rows warmed up on the last item evidence seen. */
  private warmed?: { evidence: readonly RatingEvent[]; rows: Map<string, Float32Array> | undefined };
  private rankerWarmed?: { evidence: readonly RatingEvent[]; rows: Map<string, Float32Array> | undefined };
  /** The training tasks and catalog (item fold-in reads the training users' histories). */
  private train: readonly Task[] = [];
  private itemsOfFit: ItemCatalog = new Map();
  /** The training users' heads per model (the rating model, its ranker), computed on first use. */
  private heads = new Map<RecommenderModel, TrainingHeads>();
  /** How new items take item evidence: the configured way, or the one chosen by `fit` (`auto`). */
  private newItemsWay: NewItemsWay = 'warm-up';

  constructor(
    private readonly settings: LearnerSettings,
    private readonly features: TrainerConfig['features'],
  ) {}

  get name(): string {
    return this.settings.name;
  }

  async fit(ctx: FitContext): Promise<FitResult> {
    const backend = await initBackend();
    const s = this.settings;
    this.users = new Map(ctx.users.map((u) => [u.id, u]));
    this.train = ctx.train;
    this.itemsOfFit = ctx.items;
    this.heads.clear();
    this.model = buildModel(
      this.features,
      // The Bayesian head and ANIL are head-only models from the start (pretraining and the
      // starting point's validation included); metaTrain would switch anil to it anyway.
      s.bayesHead || s.algorithm === 'anil' ? { ...s.model, localGroups: ['output'] } : s.model,
      ctx.users,
      ctx.items.values(),
      ctx.train,
      ctx.seed,
      { kind: ctx.kind, scale: ctx.scale, negatives: s.negatives },
      { bayesHead: s.bayesHead },
    );
    await initBiases(this.model, s.model, ctx.train, ctx.items);
    prepareStart(this.model, s.model, ctx);
    // Progress over pretraining and meta-training together, in (meta-)batches.
    const perEpoch = Math.ceil(ctx.train.length / s.metaBatchSize);
    const total = (s.pretrainEpochs + s.epochs) * perEpoch;
    const report = (offset: number) => (p: TrainProgress) =>
      ctx.onProgress?.({
        done: offset + p.metaBatch,
        total,
        epoch: offset / perEpoch + p.epoch + 1,
        loss: p.loss,
      });
    const pre =
      s.pretrainEpochs > 0
        ? await pretrain(
            this.model,
            ctx.train,
            ctx.items,
            {
              outerLr: s.outerLr,
              metaBatchSize: s.metaBatchSize,
              epochs: s.pretrainEpochs,
              seed: ctx.seed,
              freezeItemBiases: s.model.freezeItemBiases,
            },
            ctx.signal,
            report(0),
          )
        : undefined;
    const validation = validationSet(ctx.validation, ctx.items, s.coldItemValidation);
    const objective = validationObjective(this.model, validation, ctx);
    // The ALS start takes the confidence that validates best (als-embeddings.ts).
    const start =
      s.pretrainEpochs === 0 && ctx.validation.length > 0
        ? await tuneAlsStart(this.model, s.model, ctx, () => objective(configuredAdapt(s)))
        : null;
    const stopper = s.patience > 0 ? new EarlyStopping(this.model, s.patience) : undefined;
    // The starting point competes too (epoch -1: kept when no epoch of meta-training beats it).
    if (stopper) stopper.observe(-1, start?.score ?? (await objective(configuredAdapt(s))));
    const result = await metaTrain(
      this.model,
      ctx.train,
      ctx.items,
      {
        algorithm: s.algorithm,
        innerSteps: s.innerSteps,
        innerLr: s.innerLr,
        innerRidge: s.innerRidge,
        outerLr: s.outerLr,
        metaBatchSize: s.metaBatchSize,
        epochs: s.epochs,
        seed: ctx.seed,
        freezeItemBiases: s.model.freezeItemBiases,
        supportSizes: s.supportSizes,
        bayesLoss: s.bayesLoss,
        ...(stopper && {
          onEpochEnd: async (epoch: number) => stopper.observe(epoch, await objective(configuredAdapt(s))),
        }),
      },
      report(s.pretrainEpochs * perEpoch),
      ctx.signal,
    );
    if (result.aborted) throw new CancelledError('meta-training interrupted');
    const best = stopper?.finish();
    const configured = configuredAdapt(s);
    // The Bayesian head's adaptation has no settings to tune: its shrinkage is meta-learned.
    this.adaptOptions =
      s.tuneAdapt && !s.bayesHead
        ? (
            await tuneAdapt(
              this.model,
              validation,
              learnerAdaptCandidates(configured, this.model.supportsRidge),
              ctx.signal,
              objective,
            )
          ).choice
        : configured;
    // Explicit data ranked by the harness (P2): the ranker, chosen on the same validation users.
    const ranker = ctx.ranks
      ? await chooseRanker(this.model, s.ranker, this.features, s.model, ctx, this.adaptOptions)
      : undefined;
    const rankerFacts = ranker &&
      !Number.isNaN(ranker.ndcg20.ranker) && {
        ranker: ranker.attached,
        validationNdcg20: ranker.ndcg20,
        ...(ranker.alsAlpha !== undefined && {
          rankerAlsAlpha: ranker.alsAlpha,
          rankerEvidenceGrowth: ranker.evidenceGrowth,
          rankerLiftScale: ranker.liftScale,
        }),
      };
    // The neighbourhood term of the ranking model, weighted as the validation users rank best.
    const neighbourhood = ctx.ranks
      ? await chooseNeighbourhood(this.model, s.neighbourhood, ctx, this.adaptOptions)
      : null;
    // The content neighbourhood of items added after training, weighted on pseudo-new items.
    const content = ctx.ranks
      ? await chooseContentNeighbourhood(this.model, s.neighbourhood, ctx, this.adaptOptions)
      : null;
    const {
      way,
      choice: newItems,
      rankerEvidence: evidence,
      ratingWarmUp,
    } = await resolveNewItems(this.model, s.newItems, {
      ...ctx,
      users: this.users,
      adaptOptions: this.adaptOptions,
      trainingHeads: (model) => this.trainingHeadsOf(model),
    });
    this.newItemsWay = way;
    return {
      lossHistory: [...(pre?.lossHistory ?? []), ...result.lossHistory],
      backend: describeBackend(backend),
      tuned: {
        ...this.adaptOptions,
        ...(best && { epochs: best.epoch + 1 }),
        ...(start && {
          alsAlpha: start.alpha,
          alsItemBiases: start.itemBiases,
          evidenceGrowth: start.evidenceGrowth,
          liftScale: start.liftScale,
        }),
        ...rankerFacts,
        ...(neighbourhood && {
          neighbourWeight: neighbourhood.weight,
          neighbourValidationNdcg20: neighbourhood.scores,
        }),
        ...(content && {
          contentWeight: content.weight,
          contentValidationNdcg20: content.scores,
        }),
        ...(newItems && {
          newItems: newItems.way,
          newItemsValidationNdcg20: newItems.scores,
        }),
        ...(evidence && {
          rankerEvidenceMin: evidence.kept.min ?? 'none',
          rankerWarmUpPrior: evidence.kept.prior,
          rankerEvidenceValidationNdcg20: evidence.scores,
        }),
        ...(ratingWarmUp && {
          warmUpBiasPrior: ratingWarmUp.biasPrior,
          warmUpBiasValidationMae: ratingWarmUp.scores,
        }),
      },
    };
  }

  /** The training users' heads and user base of `model`, computed once per fit. */
  private trainingHeadsOf(model: RecommenderModel): TrainingHeads {
    let training = this.heads.get(model);
    if (!training) this.heads.set(model, (training = trainingHeads(model, this.train, this.itemsOfFit)));
    return training;
  }

  /**
   * Query predictions after adapting each task's user on its support set. With item evidence (P2's
   * new-item k-shot), the new items' ID rows are first warmed up on it (core warmUpItems).
   */
  async predict(
    tasks: readonly Task[],
    items: ItemCatalog,
    signal?: AbortSignal,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    const model = this.fitted('predict');
    try {
      return await predictTasks(model, tasks, items, this.adaptWith(items, options), 64, signal);
    } catch (err) {
      if (isCancellation(err)) throw err;
      throw new Error(`${this.name}: ${(err as Error).message}`);
    }
  }

  /**
   * P2 full-catalog ranking: each task's user adapted on its support set, then every candidate
   * scored (candidates encoded once per call; see rankTasks). Item evidence as in `predict`.
   */
  async rank(
    tasks: readonly Task[],
    candidates: readonly string[],
    items: ItemCatalog,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    const model = this.fitted('rank');
    try {
      return await rankTasks(
        model,
        tasks,
        candidates,
        items,
        this.adaptWith(items, options),
        options?.signal,
        this.rankerWith(items, options),
      );
    } catch (err) {
      if (isCancellation(err)) throw err;
      throw new Error(`${this.name}: ${(err as Error).message}`);
    }
  }

  private fitted(what: string): RecommenderModel {
    if (!this.model) throw new Error(`${this.name}: ${what} before fit`);
    return this.model;
  }

  /** The adaptation to score with, plus rows warmed up on the item evidence, if any. */
  private adaptWith(
    items: ItemCatalog,
    options?: RankOptions,
  ): AdaptSettings & { warmItems?: Map<string, Float32Array> } {
    const adaptOptions = this.adaptOptions ?? configuredAdapt(this.settings);
    const evidence = options?.itemEvidence;
    if (!evidence?.length) return adaptOptions;
    // predict and rank of one k-shot point share the evidence: warm up once.
    if (this.warmed?.evidence !== evidence) {
      this.warmed = { evidence, rows: this.rowsFromEvidence(this.model!, evidence, items) };
    }
    return this.warmed.rows ? { ...adaptOptions, warmItems: this.warmed.rows } : adaptOptions;
  }

  /** The ranker's adaptation (its defaults) plus its rows warmed up on the item evidence, if any. */
  private rankerWith(items: ItemCatalog, options?: RankOptions): AdaptOptions {
    const ranker = this.model?.ranker;
    const evidence = options?.itemEvidence;
    if (!ranker || !evidence?.length) return ranker?.adaptDefaults ?? {};
    if (this.rankerWarmed?.evidence !== evidence) {
      const interactions = rankerEvidence(this.model!, evidence);
      this.rankerWarmed = { evidence, rows: this.rowsFromEvidence(ranker, interactions, items) };
    }
    const rows = this.rankerWarmed.rows;
    return rows ? { ...ranker.adaptDefaults, warmItems: rows } : ranker.adaptDefaults;
  }

  /**
   * Rows of the new items of `evidence`: with the fold-in (`newItems`, configured or chosen),
   * folded in from the training users' heads where the model is a catalog fold-in model (core
   * foldInItems), else warmed up by core warmUpItems.
   */
  private rowsFromEvidence(
    model: RecommenderModel,
    evidence: readonly RatingEvent[],
    items: ItemCatalog,
  ): Map<string, Float32Array> | undefined {
    if (this.newItemsWay === 'fold-in' && supportsItemFoldIn(model))
      return foldInRowsFromEvidence(model, evidence, items, this.trainingHeadsOf(model));
    return warmRowsFromEvidence(model, evidence, items, this.users);
  }

  /**
   * The "+item-warmup" variant: items without an ID row in this model (new items) are warmed up on
   * the support ratings of `tasks` (itemWarmupRequests: query ratings are never read), in one
   * batched core warmUpItems call; then every task is adapted and scored as in `predict`, with the
   * warmed rows for support and query items. null for a model without ID embeddings.
   */
  async predictWithItemWarmup(
    tasks: readonly Task[],
    items: ItemCatalog,
    options: WarmUpOptions,
    signal?: AbortSignal,
  ): Promise<{ predictions: Float32Array[]; stats: ItemWarmupStats } | null> {
    const warm = this.warmUpNewItems(tasks, items, options);
    if (!warm) return null;
    try {
      const predictions = await predictTasks(
        this.model!,
        tasks,
        items,
        { ...(this.adaptOptions ?? configuredAdapt(this.settings)), warmItems: warm.rows },
        64,
        signal,
      );
      return { predictions, stats: warm.stats };
    } catch (err) {
      if (isCancellation(err)) throw err;
      throw new Error(`${this.name}: ${(err as Error).message}`);
    }
  }

  /** The warmed ID rows of the new items of `tasks` (see predictWithItemWarmup); null without ID embeddings. */
  warmUpNewItems(
    tasks: readonly Task[],
    items: ItemCatalog,
    options: WarmUpOptions,
  ): { rows: Map<string, Float32Array>; stats: ItemWarmupStats } | null {
    const model = this.model;
    if (!model) throw new Error(`${this.name}: item warm-up before fit`);
    if (!model.config.idEmbeddings || model.layout.idDim === 0) return null;
    const t0 = performance.now();
    const requests = itemWarmupRequests(tasks, items, (id) => !model.itemIdIndex.has(id));
    const rows = warmUpItems(model, requests, options);
    return {
      rows,
      stats: {
        items: requests.length,
        interactions: requests.reduce((n, r) => n + r.interactions.length, 0),
        seconds: (performance.now() - t0) / 1000,
      },
    };
  }

  dispose(): void {
    this.model?.dispose();
    this.model = undefined;
    this.warmed = undefined;
    this.rankerWarmed = undefined;
    this.heads.clear();
  }
}
