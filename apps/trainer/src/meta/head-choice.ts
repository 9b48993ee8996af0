import type { SupportSizes } from '@warmstart/core';
import type { FeedbackKind } from '../data/types';

/**
 * `train.bayesHead: auto` and `train.supportSizes: auto`, resolved by the data's feedback kind.
 *
 * Explicit ratings: the Bayesian last layer, meta-trained on mixed support sizes. On the warm
 * validation users of MovieLens-100K (3 seeds) it had the best full-support MAE of the head-only
 * learners (0.7295 vs the ridge head's 0.7311), and with `mixed` episodes the best MAE when the
 * same validation users' support is cut to k = 1..10 (k = 1: 0.825 vs 0.833).
 * Implicit feedback: the closed-form ridge head (an iALS-style fold-in over support positives and
 * sampled negatives) on full support: on hetrec-lastfm's warm validation users it ranked better
 * than the Bayesian head (NDCG@20 0.175 vs 0.154, seed 0).
 */
export function bayesHeadFor(value: boolean | 'auto', kind: FeedbackKind): boolean {
  return value === 'auto' ? kind === 'explicit' : value;
}

/** See {@link bayesHeadFor}: `mixed` with the Bayesian head on explicit data, else `full`. */
export function supportSizesFor(value: SupportSizes | 'auto', kind: FeedbackKind): SupportSizes {
  return value === 'auto' ? (kind === 'explicit' ? 'mixed' : 'full') : value;
}
