import { DEFAULT_WARMUP, type AdaptOptions, type RecommenderModel, type UserRecord } from '@warmstart/core';
import {
  datasetHasTimes,
  type FitContext,
  orderedByItem,
  throwIfAborted,
  validationMae,
} from '@warmstart/evaluation';
import { MIN_CHOICE_TASKS } from './new-items-choice';
import { predictTasks } from './predict';
import { pseudoNewItems, pseudoNewRatings, splitAtPseudoNew } from './pseudo-new';
import { warmRowsFromEvidence } from './rank-tasks';
import { RANKER_EVIDENCE_SHOTS } from './ranker-evidence-choice';
import { stageProgress } from './stage-progress';

/**
 * Pulls of a new item's ID bias towards its generated start (core WarmUpOptions.biasPrior, in
 * ratings) tried by the rating model's warm-up, the default first (the row's own prior, 20): a
 * bias model reads a new item's level from its first ratings with a shrinkage of a few ratings,
 * and a pull of 20 takes in only a fifth of it at five ratings.
 */
export const RATING_BIAS_PRIORS: readonly number[] = [DEFAULT_WARMUP.prior, 5, 2, 1];

/** What {@link chooseRatingWarmUp} found. */
export interface RatingWarmUpChoice {
  /** The ID bias's pull kept (set on the model by the caller when not the default). */
  biasPrior: number;
  /** Validation MAE on pseudo-new items, mean over the shots, by bias prior. */
  scores: Record<string, number>;
  /** Pseudo-new items and validation tasks scored. */
  items: number;
  tasks: number;
}

/**
 * For an explicit rating model with item ID rows: how strongly its item warm-up pulls a new item's
 * ID bias towards the generated start (RATING_BIAS_PRIORS; core `model.itemWarmUp.biasPrior`),
 * chosen on the warm validation users by MAE, as the ranker's evidence is chosen by NDCG@20
 * (ranker-evidence-choice.ts): a quarter of the warm items those users touched play new items
 * (IDs hidden); each pseudo-new item's evidence is its first k ratings by the training users (by
 * time, else a seeded order), k in RANKER_EVIDENCE_SHOTS; each validation user, adapted on its
 * ratings of the other items, predicts its ratings of the pseudo-new items, warmed up on that
 * evidence. A setting must score strictly lower than every one before it (the default first) to
 * be kept. Null for implicit data, a model without item ID rows, or fewer than 20 tasks.
 */
export async function chooseRatingWarmUp(
  model: RecommenderModel,
  ctx: Pick<FitContext, 'train' | 'validation' | 'items' | 'seed' | 'kind' | 'signal' | 'onProgress'> & {
    users: ReadonlyMap<string, UserRecord>;
    adaptOptions: AdaptOptions;
  },
): Promise<RatingWarmUpChoice | null> {
  if (ctx.kind !== 'explicit' || model.config.task !== 'rating' || model.layout.idDim === 0) return null;
  const pseudo = pseudoNewItems((id) => model.itemIdIndex.has(id), ctx);
  const tasks = splitAtPseudoNew(ctx.validation, pseudo);
  if (tasks.length < MIN_CHOICE_TASKS) return null;
  const { byUser } = pseudoNewRatings(ctx.train, pseudo);
  const ordered = orderedByItem(byUser, datasetHasTimes({ ratings: [...byUser.values()].flat() }), ctx.seed);
  const sums = new Array<number>(RATING_BIAS_PRIORS.length).fill(0);
  const tick = stageProgress(ctx, 'rating warm-up', RATING_BIAS_PRIORS.length * RANKER_EVIDENCE_SHOTS.length);
  for (const k of RANKER_EVIDENCE_SHOTS) {
    throwIfAborted(ctx.signal);
    const evidence = [...ordered.values()].flatMap((list) => list.slice(0, k));
    for (const [i, biasPrior] of RATING_BIAS_PRIORS.entries()) {
      const rows = warmRowsFromEvidence(model, evidence, pseudo.items, ctx.users, { biasPrior });
      const predictions = await predictTasks(
        model,
        tasks,
        pseudo.items,
        { ...ctx.adaptOptions, ...(rows && { warmItems: rows }) },
        64,
        ctx.signal,
      );
      const at = new Map(tasks.map((t, n) => [t, predictions[n]!]));
      sums[i]! += validationMae(tasks, (t) => at.get(t)!);
      tick();
    }
  }
  const scores: Record<string, number> = {};
  let best = 0;
  RATING_BIAS_PRIORS.forEach((prior, i) => {
    scores[String(prior)] = sums[i]! / RANKER_EVIDENCE_SHOTS.length;
    if (sums[i]! < sums[best]!) best = i;
  });
  return { biasPrior: RATING_BIAS_PRIORS[best]!, scores, items: pseudo.ids.size, tasks: tasks.length };
}
