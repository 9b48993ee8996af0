/** @warmstart/core: features, model, meta-learning, adaptation, metrics and artifacts. */
export * from './types';
export * from './errors';
export * from './backend';
export {
  FeatureSpec,
  asNumber,
  asStrings,
  textTokens,
  TEXT_MAX_VOCAB,
  TEXT_MIN_RECORDS,
} from './features/spec';
export type {
  FieldKind,
  FieldDecl,
  FeatureSpecDecl,
  FeatureSpecJSON,
  FittedField,
  EntitySpec,
} from './features/spec';
export { encodeRows, newEncodeStats, bucketOf, rowWidth } from './features/encoder';
export type { EncodeStats } from './features/encoder';
export {
  DEFAULT_CONFIG,
  MELU_LOCAL_GROUPS,
  ANIL_LOCAL_GROUPS,
  LOCAL_CAPABLE,
  resolveConfig,
  groupOf,
} from './model/config';
export type { ModelConfig, ParamGroup, IdEmbeddingConfig, NegativeSampling } from './model/config';
export { createModel, RecommenderModel, EncodedItems } from './model/model';
export {
  attachRanker,
  rankerEvidence,
  rankingModel,
  rankingSupport,
  setRankerEvidenceMin,
} from './model/ranker';
export type { TrainingInfo, ModelSnapshot, AdaptDefaults } from './model/model';
/**
 * The adaptation settings (`steps`, `lr`, `ridge`): a model's `adaptDefaults`, the overridable
 * part of `adapt`'s options, and what apps configure and tune adaptation with.
 */
export type { AdaptSettings } from './model/adapt-settings';
/**
 * The one rule for closed-form head adaptation (ridge head, Bayesian last layer): only the output
 * head adapts per user. Given `localGroups` alone it is `model.supportsRidge` and the artifact
 * check of `adaptDefaults.ridge`; given an algorithm too, it says so before a model exists (anil
 * always, melu and meta-sgd never, the others by `localGroups`), as metaTrain decides it.
 */
export { supportsClosedFormHead } from './model/head-only';
export type { Params } from './model/params';
export { adapt, score, scoreBatch, recommend, predictiveVariance, AdaptedUsers } from './adapt';
export type { AdaptRequest, AdaptOptions, Recommendation } from './adapt';
export { rankShortlist, canShortlist, firstStageIsExact } from './retrieval/shortlist';
export type { ShortlistOptions, ShortlistEntry } from './retrieval/shortlist';
export * from './metrics/regression';
export * from './metrics/ranking';
export { metaTrain, DEFAULT_TRAIN_OPTIONS, SUPPORT_SIZES } from './meta/train';
export type { MetaTrainOptions, TrainProgress, TrainResult, TaskSource, SupportSizes } from './meta/train';
export { metaObjective, metaGradients, buildMetaBatch, disposeMetaBatch } from './meta/objective';
export type { MetaBatch, ObjectiveOptions } from './meta/objective';
export { ALGORITHMS } from './meta/algorithm';
export type { Algorithm } from './meta/algorithm';
export { saveModel, loadModel, readManifest, ARTIFACT_FORMAT, ARTIFACT_VERSION } from './artifacts/artifact';
export type { ArtifactMeta, Manifest } from './artifacts/artifact';
export { warmUpItems, DEFAULT_WARMUP } from './item-warmup';
export type { ItemWarmUpRequest, WarmUpOptions, WarmItemIds } from './item-warmup';
export { foldInItems, supportsItemFoldIn, userBaseOf, userHeads } from './item-fold-in';
export {
  foldInItemsFromHistories,
  userBaseFromJSON,
  userBaseToJSON,
  userHeadsOf,
  type ItemFoldInFromHistories,
  type UserBaseJSON,
} from './item-fold-in-histories';
export type { ItemFoldInOptions, ItemFoldInRequest, UserBase, UserHeads } from './item-fold-in';
export { clearItemBiases, initItemBiases } from './meta/init-biases';
export { initItemEmbeddings, passThroughItemIds } from './meta/init-id-embeddings';
export { initCatalogFoldIn, scaleFoldInLift } from './meta/init-fold-in';
export {
  initGeneratorFromIds,
  GENERATOR_RIDGES,
  type GeneratorFit,
  type GeneratorFitOptions,
} from './meta/init-generator';
export { alsFoldInStart, type FoldInStart } from './model/catalog-fold-in';
export type { InitBiasOptions } from './meta/init-biases';
export { ItemNeighbours, type CoOccurrenceSource } from './neighbours/item-neighbours';
export { TopK } from './neighbours/top-k';
export { buildItemNeighbours, type Interaction } from './neighbours/build';
export { setNeighbourhood, type Neighbourhood } from './neighbours/neighbourhood';
export { fitContentIdf, setContentNeighbourhood, type ContentNeighbourhood } from './neighbours/content';
export { NegativePool, NEGATIVE_DISTRIBUTIONS } from './negatives/pool';
export type { NegativeDistribution, NegativePoolJSON } from './negatives/pool';
export { buildNegativePool, DEFAULT_POOL_SIZE } from './negatives/build-pool';
export type { NegativePoolOptions } from './negatives/build-pool';
export { bayesHeadPosterior, gaussianNll, PRIOR_PRECISION, PRIOR_NOISE } from './model/bayes-head';
export type { HeadPosterior } from './model/bayes-head';
