import {
  DEFAULT_WARMUP,
  rankerEvidence,
  rankingModel,
  setRankerEvidenceMin,
  supportsItemFoldIn,
  type AdaptOptions,
  type RecommenderModel,
} from '@warmstart/core';
import {
  type FitContext,
  type ItemCatalog,
  type RatingEvent,
  type Task,
  type UserRecord,
} from '@warmstart/evaluation';
import { foldInRowsFromEvidence, trainingHeads, type TrainingHeads } from './item-fold-in';
import {
  chooseNewItems,
  type NewItemsChoice,
  type NewItemsTrial,
  type NewItemsWay,
} from './new-items-choice';
import { rankTasks, warmRowsFromEvidence } from './rank-tasks';
import { chooseRatingWarmUp, type RatingWarmUpChoice } from './rating-warmup-choice';
import {
  chooseRankerEvidence,
  type RankerEvidenceChoice,
  type RankerEvidenceSetting,
} from './ranker-evidence-choice';

/** What a trained rating model (and its ranker, if any) needs around it to choose how new items come in. */
export interface NewItemsContext extends Pick<
  FitContext,
  'train' | 'validation' | 'items' | 'seed' | 'kind' | 'scale' | 'signal' | 'onProgress'
> {
  /** Every user record by id (the warm-up reads evidence users' features). */
  users: ReadonlyMap<string, UserRecord>;
  /** The rating model's adaptation (its ranker adapts with its own defaults). */
  adaptOptions: AdaptOptions;
  /** The training users' heads of a model (computed once by the caller). */
  trainingHeads(model: RecommenderModel): TrainingHeads;
}

/**
 * The model that takes new items' evidence for ranking (the ranker where the rating model has
 * one), when it can fold items in (core supportsItemFoldIn); else null: new items warm up.
 */
export function foldInCandidate(rated: RecommenderModel): RecommenderModel | null {
  const model = rankingModel(rated);
  return supportsItemFoldIn(model) ? model : null;
}

/** What {@link resolveNewItems} decided. */
export interface NewItemsResolution {
  way: NewItemsWay;
  /** `auto` between the two ways: the choice's scores; else null. */
  choice: NewItemsChoice | null;
  /**
   * `auto` for a rating model with a ranker: whether its ranker takes new items' low ratings as
   * negatives (learners/ranker-evidence-choice.ts; set on the model when kept). Null otherwise.
   */
  rankerEvidence: RankerEvidenceChoice | null;
  /**
   * `auto` for an explicit rating model with item ID rows: how strongly its own warm-up pulls a new
   * item's ID bias (learners/rating-warmup-choice.ts; set on the model when not the default). Null
   * otherwise.
   */
  ratingWarmUp: RatingWarmUpChoice | null;
}

/**
 * `train.newItems` resolved for a trained model: `warm-up` and `fold-in` as configured (the fold-in
 * only where {@link foldInCandidate} allows it), `auto` by chooseNewItems on the validation users
 * with the trial below. For a rating model with a ranker, `auto` also chooses whether the ranker
 * takes every rating of a new item as a positive interaction, or the liked ones as positives and
 * the others as negatives (core rankerEvidence, chooseRankerEvidence); a configured way takes every
 * rating as a positive. For an explicit rating model, `auto` also chooses the pull of a new item's
 * ID bias in the rating model's own warm-up (chooseRatingWarmUp), which its predicted ratings use.
 */
export async function resolveNewItems(
  rated: RecommenderModel,
  setting: NewItemsWay | 'auto',
  ctx: NewItemsContext,
): Promise<NewItemsResolution> {
  const foldable = foldInCandidate(rated);
  setRankerEvidenceMin(rated, null);
  if (rated.ranker) rated.ranker.itemWarmUp = {};
  rated.itemWarmUp = {};
  if (setting !== 'auto' || ctx.validation.length === 0) {
    const way = setting === 'fold-in' && foldable ? 'fold-in' : 'warm-up';
    return { way, choice: null, rankerEvidence: null, ratingWarmUp: null };
  }
  const model = rankingModel(rated);
  const trialFor = (s: RankerEvidenceSetting) => newItemsTrial(rated, model, ctx, s);
  const choice = foldable
    ? await chooseNewItems(trialFor({ min: null, prior: DEFAULT_WARMUP.prior }), ctx)
    : null;
  const way = choice?.way ?? 'warm-up';
  const rankerEvidence = rated.ranker ? await chooseRankerEvidence(way, trialFor, ctx) : null;
  if (rankerEvidence && rated.ranker) {
    setRankerEvidenceMin(rated, rankerEvidence.kept.min);
    if (rankerEvidence.kept.prior !== DEFAULT_WARMUP.prior)
      rated.ranker.itemWarmUp = { prior: rankerEvidence.kept.prior };
  }
  // The rating model's own warm-up (its predicted ratings of new items), when it has one.
  const ratingWarmUp = await chooseRatingWarmUp(rated, ctx);
  if (ratingWarmUp && ratingWarmUp.biasPrior !== DEFAULT_WARMUP.prior)
    rated.itemWarmUp = { biasPrior: ratingWarmUp.biasPrior };
  return { way, choice, rankerEvidence, ratingWarmUp };
}

/**
 * The trial chooseNewItems runs for `model` (the rating model itself, or its ranker, which reads
 * evidence as interactions of value 1, or of value 0 below the setting's minimum where it has one):
 * the warm-up by core warmUpItems (a ranker's with the setting's prior), the fold-in from the
 * evidence users' heads adapted on their histories against the training users' user base; ranked
 * as P2 ranks (rankTasks).
 */
function newItemsTrial(
  rated: RecommenderModel,
  model: RecommenderModel,
  ctx: NewItemsContext,
  setting: RankerEvidenceSetting,
): NewItemsTrial {
  const asInteractions = (evidence: readonly RatingEvent[]) =>
    model === rated ? evidence : rankerEvidence(rated, evidence, setting.min);
  const warmUp = model === rated ? {} : { prior: setting.prior };
  let historyHeads: { of: readonly Task[]; heads: TrainingHeads } | undefined;
  return {
    isWarm: (id) => model.itemIdIndex.has(id),
    rows: (way, evidence, items, histories) => {
      if (way === 'warm-up')
        return warmRowsFromEvidence(model, asInteractions(evidence), items, ctx.users, warmUp);
      if (historyHeads?.of !== histories)
        historyHeads = { of: histories, heads: trainingHeads(model, histories, items) };
      return foldInRowsFromEvidence(model, asInteractions(evidence), items, {
        heads: historyHeads.heads.heads,
        base: ctx.trainingHeads(model).base,
      });
    },
    rank: (tasks, candidates, items: ItemCatalog, rows) => {
      const warm = rows && { warmItems: rows };
      return model === rated
        ? rankTasks(rated, tasks, candidates, items, { ...ctx.adaptOptions, ...warm }, ctx.signal)
        : rankTasks(rated, tasks, candidates, items, ctx.adaptOptions, ctx.signal, {
            ...model.adaptDefaults,
            ...warm,
          });
    },
  };
}
