import type { FeedbackKind } from '../data/types';
import { Popularity } from './popularity';

/**
 * Predicts the mean training rating for everything. A constant cannot order a catalog, so its P2
 * ranking is by popularity (the one non-personalised signal left): it is `Popularity` under the
 * name of the explicit baseline.
 */
export class GlobalMean extends Popularity {
  static override readonly kinds: readonly FeedbackKind[] = ['explicit'];
  override readonly name: string = 'global-mean';
}
