import {
  ALGORITHMS,
  DEFAULT_WARMUP,
  NEGATIVE_DISTRIBUTIONS,
  SUPPORT_SIZES,
  type Algorithm,
  type SupportSizes,
} from '@warmstart/core';
import { z } from 'zod';

/**
 * The trainer's configuration file (JSON or YAML). Every key has a default (see README.md), chosen
 * to work on MovieLens-100K; unknown keys are errors so a typo never silently falls back.
 */
const fieldDecl = z
  .object({
    name: z.string().min(1),
    kind: z.enum(['categorical', 'multi_categorical', 'numeric', 'bucketized', 'text']),
    boundaries: z.array(z.number()).optional(),
    buckets: z.number().int().positive().optional(),
    maxVocab: z.number().int().positive().optional(),
  })
  .strict();

// The meta-learners are core's (maml, fomaml, reptile, meta-sgd, melu, anil).
export type { Algorithm };

const metaTrainShape = {
  algorithm: z.enum(ALGORITHMS as readonly Algorithm[] as [Algorithm, ...Algorithm[]]),
  innerSteps: z.number().int().min(0),
  innerLr: z.number().positive(),
  innerRidge: z.number().positive().nullable(),
  outerLr: z.number().positive(),
  metaBatchSize: z.number().int().positive(),
  epochs: z.number().int().positive(),
  pretrainEpochs: z.number().int().min(0),
  patience: z.number().int().min(0),
  coldItemValidation: z.boolean(),
  /**
   * Implicit feedback only (core `config.negatives`): negatives sampled from the training items,
   * `perPositive` per positive, by `distribution` (popularity^0.75 or uniform), for meta-training
   * (BPR loss of the query positives against them) and adaptation (support positives plus sampled
   * negatives). Ignored for explicit ratings.
   */
  negatives: z
    .object({
      perPositive: z.number().int().min(1).max(100),
      distribution: z.enum(NEGATIVE_DISTRIBUTIONS as [string, ...string[]]),
    })
    .strict() as z.ZodType<NegativesSection>,
  /**
   * Bayesian last layer (core `config.bayesHead`; head-only algorithms): the head's prior mean,
   * per-coordinate precision (the user bias's included) and noise are meta-learned through the
   * closed-form posterior, and users adapt to the posterior mean (instead of `innerRidge` /
   * `adapt.ridge` / steps, which it replaces). Stored in the artifact, so serving adapts the same.
   */
  bayesHead: z.union([z.boolean(), z.literal('auto')]),
  /** The Bayesian head's query loss: `nll` (ALPaCA's, fits precision and noise) or `mse`. */
  bayesLoss: z.enum(['nll', 'mse']),
  /**
   * Support sizes of the meta-training episodes (core `supportSizes`): `full`, or each episode
   * cut to its first k ratings, k drawn `uniform`ly or `log-uniform`ly from 1..n (seeded), or
   * `mixed` (half the episodes full, half uniform).
   */
  supportSizes: z.union([
    z.enum(SUPPORT_SIZES as readonly SupportSizes[] as [SupportSizes, ...SupportSizes[]]),
    z.literal('auto'),
  ]),
  /**
   * Explicit data: a ranker attached to the rating model (core `attachRanker`), an implicit model
   * of who rated what that orders candidates while the rating model predicts ratings
   * (learners/ranker.ts). `auto`: built, and kept when it ranks the warm validation users' query items
   * better (NDCG@20) than the rating model does; `on`: kept; `off`: none. Implicit data: none.
   */
  ranker: z.enum(['auto', 'on', 'off']),
  /**
   * How items added after training take their first interactions (P2's new-item evidence):
   * `warm-up`, gradient steps on the ID row with the shared parameters (core warmUpItems), or
   * `fold-in`, the item step of the catalog fold-in from the interacting users' adapted heads
   * (core foldInItems; catalog fold-in models without user features, else `warm-up`), or `auto`:
   * whichever ranks pseudo-new items better for the warm validation users
   * (learners/new-items-choice.ts; the warm-up where the model cannot fold items in).
   */
  newItems: z.enum(['auto', 'warm-up', 'fold-in']),
  /**
   * The item neighbourhood added to the ranking model's scores (core setNeighbourhood: item-kNN
   * similarities to the user's support items, weighted): `auto` picks its weight on the warm
   * validation users, 0 (none) included (learners/neighbourhood-choice.ts); `off`: none.
   */
  neighbourhood: z.enum(['auto', 'off']),
};

export interface NegativesSection {
  perPositive: number;
  distribution: 'popularity' | 'uniform';
}

/** Shapes without defaults, so a learner's partial override never resets what it leaves out. */
const modelShape = {
  embeddingDim: z.number().int().positive(),
  hidden: z.array(z.number().int().positive()).min(1),
  localGroups: z.array(z.enum(['embeddings', 'decision', 'output'])).min(1),
  /** ID embeddings for warm items plus the MetaEmb generator for new ones. */
  idEmbeddings: z.boolean(),
  /** ID embedding size (unset: embeddingDim) and the share of warm occurrences trained through the generator. */
  idEmbeddingDim: z.number().int().positive(),
  idColdRate: z.number().min(0).max(1),
  ratingRange: z.tuple([z.number(), z.number()]),
  /**
   * Closed-form user-bias step before the inner gradient steps (core `userBiasShrinkage`): each
   * user's output bias moves by sum(y - pred) / (n + this) over the support set; null: off.
   */
  userBiasShrinkage: z.number().positive().nullable(),
  /** Core `initItemBiases` before training: global mean, genre-ridge content bias, shrunk ID biases. */
  initItemBiases: z.boolean(),
  /**
   * Pseudo-count of those ID biases' shrinkage towards the content prediction, or
   * `empirical-bayes`: fitted from the variance components (core `initItemBiases` shrinkage).
   */
  itemBiasShrinkage: z.union([z.number().min(0), z.literal('empirical-bayes')]),
  /** Keep those closed-form item biases fixed during training (core `freezeItemBiases`). */
  freezeItemBiases: z.boolean(),
  /**
   * Where the item ID embeddings start: `als` (implicit-ALS item factors of the training
   * interactions, with the trunk passing them through, learners/als-embeddings.ts), `none` (zeros),
   * or `auto`: `als` on implicit feedback, `none` on explicit ratings.
   */
  initItemEmbeddings: z.enum(['auto', 'als', 'none']),
};

const modelSchema = z
  .object({
    embeddingDim: modelShape.embeddingDim.default(32),
    hidden: modelShape.hidden.default([64, 64]),
    localGroups: modelShape.localGroups.default(['decision', 'output']),
    idEmbeddings: modelShape.idEmbeddings.default(true),
    idEmbeddingDim: modelShape.idEmbeddingDim.optional(),
    idColdRate: modelShape.idColdRate.default(0.3),
    ratingRange: modelShape.ratingRange.default([1, 5]),
    userBiasShrinkage: modelShape.userBiasShrinkage.default(1),
    initItemBiases: modelShape.initItemBiases.default(true),
    itemBiasShrinkage: modelShape.itemBiasShrinkage.default(5),
    freezeItemBiases: modelShape.freezeItemBiases.default(true),
    initItemEmbeddings: modelShape.initItemEmbeddings.default('auto'),
  })
  .strict();

const trainSchema = z
  .object({
    /**
     * anil: meta-learning that adapts the output head only, by default in closed form (`innerRidge`).
     * With the ridge head its warm validation MAE is the best of the meta-learners (3 seeds), and
     * its shared trunk makes serving about 10x cheaper per user than MeLU (apps/serving/README.md).
     */
    algorithm: metaTrainShape.algorithm.default('anil'),
    innerSteps: metaTrainShape.innerSteps.default(5),
    innerLr: metaTrainShape.innerLr.default(0.1),
    /**
     * Closed-form ridge head (this penalty) instead of the inner gradient steps during
     * meta-training, the trunk meta-learned through the solve (core `innerRidge`); applies to
     * head-only algorithms (anil, or fomaml/maml/reptile with model.localGroups ["output"]); null:
     * steps. 10 had the best warm validation MAE of 1, 3, 10, 30 (apps/trainer/README.md).
     */
    innerRidge: metaTrainShape.innerRidge.default(10),
    outerLr: metaTrainShape.outerLr.default(0.001),
    metaBatchSize: metaTrainShape.metaBatchSize.default(16),
    /**
     * The most epochs meta-training runs; early stopping (`patience`) usually ends it sooner.
     * `auto` (learners/head-choice.ts): 6 on explicit ratings, 15 on implicit feedback.
     */
    epochs: z.union([metaTrainShape.epochs, z.literal('auto')]).default('auto'),
    /** Plain-regression epochs before meta-training starts from the pretrained weights. */
    pretrainEpochs: metaTrainShape.pretrainEpochs.default(0),
    /**
     * Early stopping: meta-training stops after this many epochs without a better validation MAE
     * and keeps the best epoch (`epochs` is then the maximum); 0: off.
     */
    patience: metaTrainShape.patience.default(2),
    /**
     * Validation scores (early stopping, adaptation tuning, fine-tuned-net's choices) average the
     * validation users' MAE with and without item IDs, so choices also suit brand-new items.
     */
    coldItemValidation: metaTrainShape.coldItemValidation.default(false),
    negatives: metaTrainShape.negatives.default({ perPositive: 4, distribution: 'popularity' }),
    /** `auto`: the Bayesian head on either kind; on implicit data it is the catalog fold-in (learners/head-choice.ts). */
    bayesHead: metaTrainShape.bayesHead.default('auto'),
    bayesLoss: metaTrainShape.bayesLoss.default('nll'),
    /** `auto`: `mixed` support sizes (learners/head-choice.ts). */
    supportSizes: metaTrainShape.supportSizes.default('auto'),
    ranker: metaTrainShape.ranker.default('auto'),
    newItems: metaTrainShape.newItems.default('auto'),
    neighbourhood: metaTrainShape.neighbourhood.default('auto'),
    seed: z.number().int().default(0),
    /** Warm users held out to measure validation metrics (promotion gate). */
    validationFraction: z.number().gt(0).lt(1).default(0.1),
    /** Tasks: the P1 rules (drop < minRatings, cap at maxRatings, querySize query ratings). */
    minRatings: z.number().int().positive().default(13),
    maxRatings: z.number().int().positive().default(100),
    querySize: z.number().int().positive().default(10),
    /** Checkpoint every N epochs so `--resume` can continue. */
    checkpointEvery: z.number().int().positive().default(1),
  })
  .strict();

const adaptShape = {
  steps: z.number().int().min(0),
  lr: z.number().positive(),
  ridge: z.number().positive().nullable(),
};

/** Adaptation at evaluation time, also stored in the artifact as the serving default. */
const adaptSchema = z
  .object({
    steps: adaptShape.steps.default(5),
    lr: adaptShape.lr.default(0.1),
    /** Closed-form ridge head with this penalty instead of steps/lr (null: train.innerRidge, else steps). */
    ridge: adaptShape.ridge.default(null),
  })
  .strict();

/** A meta-learner evaluated by `evaluate`: its name in the report, plus overrides of `train`/`model`. */
const learnerSchema = z
  .object({
    name: z.string().min(1),
    ...Object.fromEntries(Object.entries(metaTrainShape).map(([k, v]) => [k, v.optional()])),
    model: z.object(modelShape).partial().strict().optional(),
    adapt: z.object(adaptShape).partial().strict().optional(),
  })
  .strict() as z.ZodType<LearnerConfig>;

export interface LearnerConfig {
  name: string;
  algorithm?: Algorithm;
  innerSteps?: number;
  innerLr?: number;
  innerRidge?: number | null;
  outerLr?: number;
  metaBatchSize?: number;
  epochs?: number;
  pretrainEpochs?: number;
  patience?: number;
  coldItemValidation?: boolean;
  negatives?: NegativesSection;
  bayesHead?: boolean | 'auto';
  bayesLoss?: 'nll' | 'mse';
  supportSizes?: SupportSizes | 'auto';
  ranker?: 'auto' | 'on' | 'off';
  newItems?: 'auto' | 'warm-up' | 'fold-in';
  neighbourhood?: 'auto' | 'off';
  model?: Partial<ModelSection>;
  adapt?: Partial<AdaptSection>;
}

const BASELINES = ['global-mean', 'item-bias', 'user-item-bias', 'fine-tuned-net'] as const;
export type BaselineName = (typeof BASELINES)[number];

/** Protocol P2's baselines (src/eval/methods.ts says which feedback kinds each runs on). */
export const P2_BASELINES = [
  'popularity',
  'global-mean',
  'item-bias',
  'user-item-bias',
  'item-knn',
  'als',
  'biased-mf',
  'content-knn',
  'fine-tuned-net',
] as const;
export type P2BaselineName = (typeof P2_BASELINES)[number];

const evaluateSchema = z
  .object({
    seeds: z.array(z.number().int()).min(1).default([0, 1, 2]),
    kShot: z.array(z.number().int().positive()).min(1).default([1, 3, 5, 10, 20]),
    baselines: z.array(z.enum(BASELINES)).default([...BASELINES]),
    /** The non-meta baseline's own training schedule (plain regression, then fine-tuning). */
    fineTuned: z
      .object({
        epochs: z.number().int().positive().default(5),
        outerLr: z.number().positive().default(0.005),
      })
      .strict()
      .prefault({}),
    /**
     * Meta-learners pick their adaptation steps and rate (the configured `adapt` plus steps 1, 2, 5
     * x lr 0.01, 0.05, 0.1) on the warm validation users, as fine-tuned-net does.
     */
    tuneAdapt: z.boolean().default(true),
    /**
     * The "<learner>+item-warmup" variants (src/eval/item-warmup.ts, an extension of P1): in the
     * scenarios with new items, every learner whose model has ID embeddings is also scored after its
     * new items' ID rows are warmed up (core `warmUpItems`) on the support ratings of the scenario's
     * tasks. `steps`/`lr`/`prior` unset: core's DEFAULT_WARMUP.
     */
    itemWarmup: z
      .object({
        enabled: z.boolean().default(true),
        steps: z.number().int().min(0).optional(),
        lr: z.number().positive().optional(),
        prior: z.number().min(0).optional(),
      })
      .strict()
      .superRefine((v, ctx) => {
        // Core's warmUpItems refuses the same (ValidationError on options.lr), but only when it is
        // called, after a meta-learner has been fitted; checked here too so that a config fails at
        // once and names its key. Each step multiplies an item's distance to its starting row by
        // 1 - 2 * lr * prior / n through the prior term: with one interaction (n = 1) it must stay
        // within (-1, 1), or the rows overshoot and diverge (finite but huge: measured with prior
        // 20 at lr 0.1). Unset values are core's DEFAULT_WARMUP (lr 0.04, prior 20).
        const lr = v.lr ?? DEFAULT_WARMUP.lr;
        const prior = v.prior ?? DEFAULT_WARMUP.prior;
        if (lr * prior >= 1) {
          ctx.addIssue({
            code: 'custom',
            // The key the config set (lr when both are, as core names options.lr).
            path: [v.lr !== undefined ? 'lr' : 'prior'],
            message: `lr * prior must be below 1 (got ${lr} * ${prior}): the pull towards the starting row would overshoot and diverge`,
          });
        }
      })
      .prefault({}),
    learners: z.array(learnerSchema).default([
      { name: 'fomaml', algorithm: 'fomaml' },
      // anil with inner gradient steps, and with the closed-form ridge head.
      { name: 'anil', algorithm: 'anil', innerRidge: null, bayesHead: false, supportSizes: 'full' },
      { name: 'anil-ridge', algorithm: 'anil', bayesHead: false, supportSizes: 'full' },
      // train's default (`train.bayesHead: auto`): the Bayesian last layer (on implicit data, the
      // catalog fold-in).
      { name: 'anil-bayes', algorithm: 'anil', bayesHead: true, supportSizes: 'mixed' },
      { name: 'melu', algorithm: 'melu' },
    ]),
    p1: z
      .object({
        minRatings: z.number().int().positive().default(13),
        maxRatings: z.number().int().positive().default(100),
        querySize: z.number().int().positive().default(10),
        newItemYear: z.number().int().default(1997),
        newUserFraction: z.number().gt(0).lt(1).default(0.2),
        validationFraction: z.number().gt(0).lt(1).default(0.1),
        testFraction: z.number().gt(0).lt(1).default(0.1),
      })
      .strict()
      .prefault({}),
    /** Protocol P2 (docs/protocols.md, "P2"; @warmstart/evaluation splitP2). Every key is optional. */
    p2: z
      .object({
        /** Support interactions a task needs at least (a task needs one more, for its query). */
        minSupport: z.number().int().positive().default(1),
        /** Query interactions kept per scored task (the first ones after the support set). */
        maxQuery: z.number().int().positive().default(100),
        /** Share of a user's interactions, in the user's order, that form the support set. */
        supportFraction: z.number().gt(0).lt(1).default(0.5),
        newItemFraction: z.number().gt(0).lt(1).default(0.2),
        newUserFraction: z.number().gt(0).lt(1).default(0.2),
        validationFraction: z.number().gt(0).lt(1).default(0.1),
        testFraction: z.number().gt(0).lt(1).default(0.1),
        /** Explicit data: a rating is relevant for ranking at or above the top `relevanceShare` of the scale. */
        relevanceShare: z.number().gt(0).lt(1).default(0.3),
        kShot: z.array(z.number().int().positive()).min(1).default([1, 3, 5, 10, 20]),
        /** Unset: every P2 baseline that runs on the data's feedback kind. */
        baselines: z.array(z.enum(P2_BASELINES)).optional(),
      })
      .strict()
      .refine((v) => v.validationFraction + v.testFraction < 1, {
        path: ['testFraction'],
        message: 'validationFraction + testFraction must leave warm users to train on',
      })
      .prefault({}),
  })
  .strict();

/** MovieLens's fields: the `features` default (see src/data/infer-features.ts for other data). */
export const DEFAULT_FEATURES = {
  user: [
    { name: 'gender', kind: 'categorical' as const },
    { name: 'age', kind: 'bucketized' as const, boundaries: [18, 25, 35, 45, 50, 56] },
    { name: 'occupation', kind: 'categorical' as const },
    { name: 'zip_prefix', kind: 'categorical' as const, maxVocab: 100 },
  ],
  // release_year buckets end at 1995 so new (1997+) items share a bucket trained on 1995-96 items.
  item: [
    { name: 'genres', kind: 'multi_categorical' as const },
    { name: 'release_year', kind: 'bucketized' as const, boundaries: [1960, 1980, 1990, 1995] },
  ],
};

export const configSchema = z
  .object({
    features: z
      .object({ user: z.array(fieldDecl), item: z.array(fieldDecl) })
      .strict()
      .default(DEFAULT_FEATURES),
    model: modelSchema.prefault({}),
    train: trainSchema.prefault({}),
    adapt: adaptSchema.prefault({}),
    promotion: z
      .object({
        /** Validation metric compared with the promoted model's; lower is better for mae/rmse. */
        metric: z.enum(['mae', 'rmse', 'ndcg3']).default('mae'),
        /** Required improvement over the promoted model (absolute). */
        minImprovement: z.number().min(0).default(0),
      })
      .strict()
      .prefault({}),
    evaluate: evaluateSchema.prefault({}),
    schedule: z
      .object({
        /** A run's lock expires this long after its last heartbeat (a crashed run frees it). */
        lockTtlSeconds: z.number().int().positive().default(300),
        heartbeatSeconds: z.number().int().positive().default(30),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type TrainerConfig = z.infer<typeof configSchema>;
export type ModelSection = TrainerConfig['model'];
export type AdaptSection = TrainerConfig['adapt'];
export type TrainSection = TrainerConfig['train'];
