import type { SupportSizes } from '@warmstart/core';
import type { FeedbackKind } from '@warmstart/evaluation';

/**
 * `train.bayesHead: auto` and `train.supportSizes: auto`, resolved by the data's feedback kind;
 * both kinds get the Bayesian last layer, chosen on warm validation users (apps/trainer/README.md).
 *
 * Explicit ratings: the Bayesian last layer, meta-trained on mixed support sizes. On the warm
 * validation users of MovieLens-100K (3 seeds) it had the best full-support MAE of the head-only
 * learners (0.7295 vs the ridge head's 0.7311), and with `mixed` episodes the best MAE when the
 * same validation users' support is cut to k = 1..10 (k = 1: 0.825 vs 0.833).
 * Implicit feedback: the Bayesian head as the catalog fold-in (build-model.ts, core
 * catalogFoldIn), from the ALS start (als-embeddings.ts), also on mixed support sizes: on
 * hetrec-lastfm's warm validation users it ranked better than the ridge head over sampled
 * negatives from the same start (NDCG@20 0.293 vs 0.216, seed 0).
 * The kind stays a parameter: the choice is made per kind, and both kinds choose the same today.
 */
export function bayesHeadFor(value: boolean | 'auto', _kind: FeedbackKind): boolean {
  return value === 'auto' ? true : value;
}

/** See {@link bayesHeadFor}: `mixed` support sizes on either kind. */
export function supportSizesFor(value: SupportSizes | 'auto', _kind: FeedbackKind): SupportSizes {
  return value === 'auto' ? 'mixed' : value;
}

/**
 * `train.epochs: auto`: 6 on explicit ratings, 15 on implicit feedback (early stopping usually
 * ends either sooner). On MovieLens-100K a 15-epoch budget let early stopping keep epochs 6-11 by
 * the validation users' full-support MAE, and the new users' k-shot MAE got worse at every k
 * (k = 1: 0.848 vs 0.823, 3 seeds). On implicit data the budget is for datasets where
 * meta-training improves on the ALS fold-in start: on hetrec-lastfm and on MovieLens-100K as
 * implicit feedback early stopping keeps the start itself (apps/trainer/README.md, "Measured"),
 * after the patience's two epochs.
 */
export function epochsFor(value: number | 'auto', kind: FeedbackKind): number {
  return value === 'auto' ? (kind === 'implicit' ? 15 : 6) : value;
}
