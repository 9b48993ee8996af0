import { createModel, FeatureSpec, initItemBiases, type RecommenderModel } from '@warmstart/core';
import type { ModelSection, TrainerConfig } from '../config/schema';
import type { ItemCatalog, ItemRecord, Task, UserRecord } from '../data/types';

/**
 * Fits the feature spec (vocabularies, buckets) and creates a fresh model. Vocabularies come from
 * every known user and item: content features of new items are known the moment they are added,
 * so using them leaks no rating.
 */
export function buildModel(
  features: TrainerConfig['features'],
  model: ModelSection,
  users: Iterable<UserRecord>,
  items: Iterable<ItemRecord>,
  trainTasks: readonly Task[],
  seed: number,
): RecommenderModel {
  const spec = FeatureSpec.fromData(features, users, items);
  const warmItems = new Set<string>();
  for (const t of trainTasks) for (const r of [...t.support, ...t.query]) warmItems.add(r.itemId);
  return createModel(spec, {
    embeddingDim: model.embeddingDim,
    hidden: model.hidden,
    localGroups: [...model.localGroups],
    ratingRange: [model.ratingRange[0], model.ratingRange[1]],
    userBiasShrinkage: model.userBiasShrinkage,
    idEmbeddings: model.idEmbeddings
      ? {
          itemIds: [...warmItems].sort(),
          coldRate: model.idColdRate,
          ...(model.idEmbeddingDim ? { dim: model.idEmbeddingDim } : {}),
        }
      : null,
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
  if (section.initItemBiases) await initItemBiases(model, trainTasks, { items });
}
