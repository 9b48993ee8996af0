import { createModel, FeatureSpec, type RecommenderModel } from '@warmstart/core';
import type { ModelSection, TrainerConfig } from '../config/schema';
import type { ItemRecord, Task, UserRecord } from '../data/types';

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
