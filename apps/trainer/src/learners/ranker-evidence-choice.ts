import { DEFAULT_WARMUP } from '@warmstart/core';
import {
  datasetHasTimes,
  type FitContext,
  orderedByItem,
  relevanceThreshold,
  throwIfAborted,
} from '@warmstart/evaluation';
import { MIN_CHOICE_TASKS, trialScore, type NewItemsTrial, type NewItemsWay } from './new-items-choice';
import { pseudoNewItems, pseudoNewRatings, splitAtPseudoNew } from './pseudo-new';
import { stageProgress } from './stage-progress';

/**
 * Pulls towards the generated row (core WarmUpOptions.prior, in interactions) the ranker's item
 * warm-up tries, the default first: a ranker takes many more interactions per item than the
 * rating model, for which the default was chosen.
 */
export const RANKER_WARMUP_PRIORS: readonly number[] = [DEFAULT_WARMUP.prior, 5, 1];

/**
 * Ratings per pseudo-new item the settings see: P2's new-item k-shot points, since the prior that
 * suits an item's first rating does not suit its twentieth.
 */
export const RANKER_EVIDENCE_SHOTS: readonly number[] = [1, 3, 5, 10, 20];

/** How the ranker takes new items' ratings: the minimum (null: every rating positive) and the warm-up's prior. */
export interface RankerEvidenceSetting {
  min: number | null;
  prior: number;
}

/** What {@link chooseRankerEvidence} found. */
export interface RankerEvidenceChoice {
  /** The setting kept (set on the model by the caller). */
  kept: RankerEvidenceSetting;
  /** The lowest liked rating (the data's relevance threshold), tried as the minimum. */
  min: number;
  /**
   * Validation NDCG@20 on pseudo-new items, mean over the shots, per setting: `all` (every
   * rating a positive) or `liked` (the liked ratings positive, the others negative), by prior.
   */
  scores: Record<string, number>;
  /** Pseudo-new items and validation tasks scored. */
  items: number;
  tasks: number;
}

/** The key of a setting in {@link RankerEvidenceChoice.scores}, e.g. "liked, prior 5". */
export function settingKey(s: RankerEvidenceSetting): string {
  return `${s.min === null ? 'all' : 'liked'}, prior ${s.prior}`;
}

/**
 * For a rating model with a ranker: how the ranker takes new items' first ratings, chosen on the
 * warm validation users: every rating a positive interaction, or the liked ones (at or above the
 * data's relevance threshold) positives and the others negatives (core rankerEvidence); and, for
 * the warm-up, how strongly a row is pulled towards the generated one (RANKER_WARMUP_PRIORS; core
 * `model.itemWarmUp`). A quarter of the warm items those users touched play new items
 * (pseudo-new.ts, IDs hidden); as P2's new-item k-shot curve gives new items the ratings of
 * training users, each pseudo-new item's evidence is its first k ratings by the training users (by
 * time, else a seeded order), k in RANKER_EVIDENCE_SHOTS; each validation user, adapted on its
 * interactions with the other items, ranks the pseudo-new items, its own liked ones the targets.
 * `trialFor(setting)` takes the evidence in by `way` with that setting. A setting must score
 * strictly higher than every one before it (every rating positive at the default prior first) to
 * be kept. Null for implicit data or when fewer than 20 tasks can be scored.
 */
export async function chooseRankerEvidence(
  way: NewItemsWay,
  trialFor: (setting: RankerEvidenceSetting) => NewItemsTrial,
  ctx: Pick<
    FitContext,
    'train' | 'validation' | 'items' | 'seed' | 'kind' | 'scale' | 'signal' | 'onProgress'
  >,
): Promise<RankerEvidenceChoice | null> {
  if (ctx.kind !== 'explicit') return null;
  const liked = relevanceThreshold(ctx.kind, ctx.scale);
  // The prior only matters to the warm-up (the fold-in has none).
  const priors = way === 'warm-up' ? RANKER_WARMUP_PRIORS : [DEFAULT_WARMUP.prior];
  const settings = priors.flatMap((prior) => [null, liked].map((min) => ({ min, prior })));
  const trials = settings.map((setting) => ({ setting, trial: trialFor(setting) }));
  const pseudo = pseudoNewItems(trials[0]!.trial.isWarm, ctx);
  const { items, candidates } = pseudo;
  // Validation users: their other items the support, their pseudo-new items (hidden) the query.
  const tasks = splitAtPseudoNew(ctx.validation, pseudo);
  if (tasks.length < MIN_CHOICE_TASKS) return null;
  // Training users: their pseudo-new ratings the evidence, their other items their histories
  // (only the evidence users': a fold-in reads no one else's).
  const { byUser, histories: all } = pseudoNewRatings(ctx.train, pseudo);
  const histories = all.filter((h) => byUser.has(h.user.id));
  const ordered = orderedByItem(byUser, datasetHasTimes({ ratings: [...byUser.values()].flat() }), ctx.seed);

  const sums = new Array<number>(trials.length).fill(0);
  const tick = stageProgress(ctx, 'ranker evidence', trials.length * RANKER_EVIDENCE_SHOTS.length);
  for (const k of RANKER_EVIDENCE_SHOTS) {
    throwIfAborted(ctx.signal);
    const evidence = [...ordered.values()].flatMap((list) => list.slice(0, k));
    for (const [i, { trial }] of trials.entries()) {
      const rows = trial.rows(way, evidence, items, histories);
      sums[i]! += await trialScore(trial, rows, tasks, items, candidates, ctx);
      tick();
    }
  }
  const scores: Record<string, number> = {};
  let best = 0;
  trials.forEach(({ setting }, i) => {
    scores[settingKey(setting)] = sums[i]! / RANKER_EVIDENCE_SHOTS.length;
    if (sums[i]! > sums[best]!) best = i;
  });
  return { kept: trials[best]!.setting, min: liked, scores, items: pseudo.ids.size, tasks: tasks.length };
}
