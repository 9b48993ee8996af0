import {
  alsFoldInStart,
  buildNegativePool,
  clearItemBiases,
  initCatalogFoldIn,
  initGeneratorFromIds,
  initItemEmbeddings,
  passThroughItemIds,
  type RecommenderModel,
  scaleFoldInLift,
} from '@warmstart/core';
import type { ModelSection } from '../config/schema';
import {
  ALS_START,
  type FeedbackKind,
  type FitContext,
  InteractionIndex,
  rngFor,
  type Task,
  trainAls,
} from '@warmstart/evaluation';
import { stageProgress } from './stage-progress';

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
 * ({@link itemEmbeddingStart}) the collaborative start of {@link alsStart} at ALS_START's penalty
 * and confidence ({@link tuneAlsStart} then picks the confidence on validation users).
 */
export function prepareStart(
  model: RecommenderModel,
  section: ModelSection,
  ctx: Pick<FitContext, 'train' | 'items' | 'seed' | 'kind'>,
): void {
  if (itemEmbeddingStart(section, ctx.kind) === 'als') alsStart(model, ctx, ALS_START.alpha);
  if (ctx.kind === 'implicit' && !model.negativePool) buildNegativePool(model, ctx.train, ctx.items);
}

/** ALS confidences the start tries (the ALS baseline's grid for alpha), at ALS_START's penalty. */
export const ALS_START_ALPHAS: readonly number[] = [3, 10, 30];

/**
 * The ALS start at confidence `alpha`: item ID rows from implicit-ALS factors
 * ({@link initEmbeddingsFromAls}), and the ID generator fitted to them from item content where
 * items have features (core initGeneratorFromIds), so items added after training start where warm
 * items with the same content are, not at a random generator's output.
 */
function alsStart(
  model: RecommenderModel,
  ctx: Pick<FitContext, 'train' | 'items' | 'seed'>,
  alpha: number,
): void {
  initEmbeddingsFromAls(model, ctx.train, ctx.seed, { reg: ALS_START.reg, alpha });
  initGeneratorFromIds(model, ctx.items);
}

/**
 * Evidence growths the start tries at each confidence (core `AdaptSettings.evidenceGrowth`: the
 * fold-in's lift times 1 + g n for a user with n interactions; 0 is a constant lift). They cost
 * no training, only a validation ranking each.
 */
export const EVIDENCE_GROWTHS: readonly number[] = [0, 0.3, 1, 3];

/**
 * Scales of the fold-in's lift (core scaleFoldInLift) the start also tries at its best confidence,
 * with every evidence growth, when its items have biases: below 1 a user's first interactions move
 * the ranking less far from the biases' popularity (with a growth, a long history still moves it),
 * for data whose first interactions say little about the next ones.
 */
export const LIFT_SCALES: readonly number[] = [0.3, 0.1];

/** What {@link tuneAlsStart} chose, with every candidate's score (lower is better). */
export interface AlsStartChoice {
  alpha: number;
  itemBiases: boolean;
  /** The evidence growth, also set as the model's `adaptDefaults.evidenceGrowth`. */
  evidenceGrowth: number;
  /** The lift's scale (1: ALS's fold-in lift; {@link LIFT_SCALES}). */
  liftScale: number;
  score: number;
  scores: Record<string, number>;
}

/**
 * With the `als` start, the start chosen by `score` (lower is better: the learner's validation
 * objective on warm validation users, never a cold scenario, adapting with the model's
 * `adaptDefaults`) from a model {@link prepareStart} set up at ALS_START's: the ALS confidence
 * among {@link ALS_START_ALPHAS} together with the evidence growth among {@link EVIDENCE_GROWTHS}
 * (a full grid: the growth decides how much the items' popularity biases weigh at each support
 * size, which shifts the confidence that suits the data); then, when the model's items start with
 * biases (`model.initItemBiases`, their interaction rates), the same start without them (growth
 * 0, which without biases cannot change a ranking), kept when it validates better. The model is
 * left at the best start; returns the choice (null without the `als` start). A small search per
 * dataset: the confidence that suits one catalog's play counts does not suit another's, and on
 * some catalogs popularity in the prior helps the first interactions while on others it crowds
 * out what the fold-in learns (MovieLens-100K as implicit feedback and hetrec-lastfm measured in
 * apps/trainer/README.md).
 */
export async function tuneAlsStart(
  model: RecommenderModel,
  section: ModelSection,
  ctx: Pick<FitContext, 'train' | 'items' | 'seed' | 'kind' | 'onProgress'>,
  scoreOf: () => Promise<number>,
): Promise<AlsStartChoice | null> {
  if (itemEmbeddingStart(section, ctx.kind) !== 'als') return null;
  const scores: Record<string, number> = {};
  const growths = model.layout.foldIn ? EVIDENCE_GROWTHS : [0];
  const alphas = [ALS_START.alpha, ...ALS_START_ALPHAS.filter((a) => a !== ALS_START.alpha)];
  const lifts = model.layout.foldIn && section.initItemBiases ? LIFT_SCALES.length : 0;
  const tick = stageProgress(
    ctx,
    'ALS start',
    (alphas.length + lifts) * growths.length + (section.initItemBiases ? 1 : 0),
  );
  const score = async () => {
    const s = await scoreOf();
    tick();
    return s;
  };
  let best = { alpha: ALS_START.alpha as number, evidenceGrowth: 0, liftScale: 1, score: Infinity };
  let current = ALS_START.alpha as number;
  for (const alpha of alphas) {
    if (alpha !== current) alsStart(model, ctx, (current = alpha));
    for (const evidenceGrowth of growths) {
      setEvidenceGrowth(model, evidenceGrowth);
      const s = await score();
      scores[growths.length > 1 ? `${alpha}, growth ${evidenceGrowth}` : `${alpha}`] = s;
      if (s < best.score) best = { alpha, evidenceGrowth, liftScale: 1, score: s };
    }
  }
  if (current !== best.alpha) alsStart(model, ctx, best.alpha);
  // Smaller lifts at the chosen confidence (they change a ranking only next to item biases).
  if (model.layout.foldIn && section.initItemBiases) {
    let scale = 1;
    for (const liftScale of LIFT_SCALES) {
      scaleFoldInLift(model, liftScale / scale);
      scale = liftScale;
      for (const evidenceGrowth of growths) {
        setEvidenceGrowth(model, evidenceGrowth);
        const s = await score();
        scores[`${best.alpha}, growth ${evidenceGrowth}, lift x${liftScale}`] = s;
        if (s < best.score) best = { alpha: best.alpha, evidenceGrowth, liftScale, score: s };
      }
    }
    scaleFoldInLift(model, best.liftScale / scale);
  }
  setEvidenceGrowth(model, best.evidenceGrowth);
  if (!section.initItemBiases) return { ...best, itemBiases: false, scores };
  const withBiases = model.snapshot();
  clearItemBiases(model);
  initGeneratorFromIds(model, ctx.items);
  setEvidenceGrowth(model, 0);
  const without = await score();
  scores[`${best.alpha}${best.liftScale !== 1 ? `, lift x${best.liftScale}` : ''} without item biases`] =
    without;
  if (without < best.score)
    return {
      alpha: best.alpha,
      itemBiases: false,
      evidenceGrowth: 0,
      liftScale: best.liftScale,
      score: without,
      scores,
    };
  model.restore(withBiases);
  setEvidenceGrowth(model, best.evidenceGrowth);
  return { ...best, itemBiases: true, scores };
}

function setEvidenceGrowth(model: RecommenderModel, evidenceGrowth: number): void {
  model.adaptDefaults = { ...model.adaptDefaults, evidenceGrowth };
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
