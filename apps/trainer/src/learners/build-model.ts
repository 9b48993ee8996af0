import { createModel, FeatureSpec, initItemBiases, type RecommenderModel } from '@warmstart/core';
import type { ModelSection, NegativesSection, TrainerConfig } from '../config/schema';
import type { FeedbackKind, ItemCatalog, ItemRecord, Task, UserRecord } from '@warmstart/evaluation';

/** The data's feedback kind and declared scale (P2); absent: P1's explicit ratings on `model.ratingRange`. */
export interface Feedback {
  kind: FeedbackKind;
  scale: [number, number];
  /**
   * Implicit data: how negatives are sampled (`train.negatives`; default 4 per positive by
   * popularity^0.75). The data holds positives only, so the model learns by ranking them above
   * sampled negatives (core `config.negatives`).
   */
  negatives?: NegativesSection;
}

/** `train.negatives`' default, for callers that build an implicit model without a config section. */
export const DEFAULT_NEGATIVES: NegativesSection = { perPositive: 4, distribution: 'popularity' };

/**
 * Fits the feature spec (vocabularies, buckets) and creates a fresh model. Vocabularies come from
 * every known user and item: content features of new items are known the moment they are added,
 * so using them leaks no rating. With `feedback`, implicit data gets core's implicit task with
 * sampled negatives (no user-bias step: it is a rating-scale residual) and explicit data the
 * declared scale as its range. `options.bayesHead`: a Bayesian last layer (train.bayesHead).
 */
export function buildModel(
  features: TrainerConfig['features'],
  model: ModelSection,
  users: Iterable<UserRecord>,
  items: Iterable<ItemRecord>,
  trainTasks: readonly Task[],
  seed: number,
  feedback?: Feedback,
  options: { bayesHead?: boolean } = {},
): RecommenderModel {
  const spec = FeatureSpec.fromData(features, users, items);
  const warmItems = new Set<string>();
  for (const t of trainTasks) for (const r of [...t.support, ...t.query]) warmItems.add(r.itemId);
  const implicit = feedback?.kind === 'implicit';
  const range = feedback && !implicit ? feedback.scale : model.ratingRange;
  return createModel(spec, {
    ...(implicit && { task: 'implicit' as const, negatives: feedback.negatives ?? DEFAULT_NEGATIVES }),
    embeddingDim: model.embeddingDim,
    hidden: model.hidden,
    localGroups: [...model.localGroups],
    ratingRange: [range[0], range[1]],
    userBiasShrinkage: implicit ? null : model.userBiasShrinkage,
    idEmbeddings: model.idEmbeddings
      ? {
          itemIds: [...warmItems].sort(),
          coldRate: model.idColdRate,
          ...(model.idEmbeddingDim ? { dim: model.idEmbeddingDim } : {}),
        }
      : null,
    ...(options.bayesHead && { bayesHead: true }),
    // On implicit data the Bayesian head folds users in against the catalog (core catalogFoldIn).
    ...(options.bayesHead && implicit && { catalogFoldIn: true }),
    seed: seed + 1,
  });
}

/**
 * With `model.initItemBiases`, core's data-dependent initialisation before any training: the global
 * mean, the item content bias as a ridge regression on item features (the genre regression of the
 * item-bias baseline) and shrunk per-item ID biases, so training starts from the item-bias baseline.
 */
export async function initBiases(
  model: RecommenderModel,
  section: ModelSection,
  trainTasks: readonly Task[],
  items: ItemCatalog,
): Promise<void> {
  if (section.initItemBiases)
    await initItemBiases(model, trainTasks, { items, shrinkage: section.itemBiasShrinkage });
}
