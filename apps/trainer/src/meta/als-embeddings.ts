import {
  alsFoldInStart,
  buildNegativePool,
  initCatalogFoldIn,
  initGeneratorFromIds,
  initItemEmbeddings,
  passThroughItemIds,
  type RecommenderModel,
} from '@warmstart/core';
import { ALS_START } from '../baselines/als';
import { trainAls } from '../baselines/als-model';
import { InteractionIndex } from '../baselines/interaction-index';
import type { ModelSection } from '../config/schema';
import type { FeedbackKind, Task } from '../data/types';
import type { FitContext } from '../eval/method';
import { rngFor } from '../util/rng';

const ALS_INIT_ITERATIONS = 10;
const ALS_INIT_CG_STEPS = 3;

/** `model.initItemEmbeddings` resolved: `auto` is ALS on implicit feedback, zeros on explicit ratings. */
export function itemEmbeddingStart(section: ModelSection, kind: FeedbackKind): 'als' | 'none' {
  const v = section.initItemEmbeddings;
  return v === 'auto' ? (kind === 'implicit' ? 'als' : 'none') : v;
}

/**
 * What a model starts from before meta-training, after its biases: on implicit data the negative
 * pool (so the starting point can be validated like any epoch), and with `als`
 * ({@link itemEmbeddingStart}) the collaborative start of initEmbeddingsFromAls, with the ID
 * generator fitted to it from item content where items have features, at ALS_START's
 * penalty and confidence. Not the ALS baseline's validation-tuned ones: on hetrec-lastfm (seed 0)
 * that start (alpha 3) ended at a validation NDCG@20 of 0.277 after meta-training, ALS_START's at
 * 0.305.
 */
export function prepareStart(
  model: RecommenderModel,
  section: ModelSection,
  ctx: Pick<FitContext, 'train' | 'items' | 'seed' | 'kind'>,
): void {
  if (itemEmbeddingStart(section, ctx.kind) === 'als') {
    initEmbeddingsFromAls(model, ctx.train, ctx.seed);
    // Items added after training get their ID row from content: start that mapping where the ALS
    // rows of warm items with the same content are (core initGeneratorFromIds), not at random.
    initGeneratorFromIds(model, ctx.items);
  }
  if (ctx.kind === 'implicit' && !model.negativePool) buildNegativePool(model, ctx.train, ctx.items);
}

/**
 * The item ID embeddings start from implicit-ALS item factors of the training users'
 * interactions (Hu, Koren & Volinsky 2008; `penalty`'s reg and alpha, as many factors as the
 * embedding has), scaled to unit root-mean-square, instead of zeros; the trunk starts as a
 * pass-through of them (core passThroughItemIds) and a catalog fold-in model's weights as ALS's
 * fold-in (core alsFoldInStart). A new user is then folded in as ALS would fold them in before
 * meta-training starts, and meta-learning refines that instead of having to find a collaborative
 * space through a few epochs of sampled-negative gradients (measured in apps/trainer/README.md,
 * "Measured"). Returns the number of rows set.
 */
export function initEmbeddingsFromAls(
  model: RecommenderModel,
  train: readonly Task[],
  seed: number,
  penalty: { reg: number; alpha: number } = ALS_START,
): number {
  const dim = model.layout.idDim;
  const index = InteractionIndex.fromTasks(train);
  if (dim === 0 || index.items === 0) return 0;
  const factors = trainAls(
    index,
    {
      factors: dim,
      reg: penalty.reg,
      alpha: penalty.alpha,
      iterations: ALS_INIT_ITERATIONS,
      cgSteps: ALS_INIT_CG_STEPS,
    },
    rngFor(seed, 'als-embeddings'),
  ).items;
  let sq = 0;
  for (const v of factors) sq += v * v;
  const scale = sq > 0 ? 1 / Math.sqrt(sq / factors.length) : 1;
  const vectors = new Map<string, Float32Array>();
  index.itemIds.forEach((id, i) =>
    vectors.set(
      id,
      factors.subarray(i * dim, (i + 1) * dim).map((v) => v * scale),
    ),
  );
  const rows = initItemEmbeddings(model, vectors);
  // In the scaled factors' units the penalty scales by scale^2.
  if (passThroughItemIds(model) && model.layout.foldIn)
    initCatalogFoldIn(model, alsFoldInStart(index.items, penalty.alpha, penalty.reg * scale * scale));
  return rows;
}
