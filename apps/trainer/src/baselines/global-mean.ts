import type { ItemCatalog, Task } from '../data/types';
import type { EvalMethod, FitContext, FitResult } from '../eval/method';
import { trainingRatings } from './bias-model';

/** Predicts the mean training rating for everything. */
export class GlobalMean implements EvalMethod {
  readonly name = 'global-mean';
  private mean = NaN;

  async fit(ctx: FitContext): Promise<FitResult> {
    const ratings = trainingRatings(ctx.train);
    if (ratings.length === 0) throw new RangeError('no training ratings');
    this.mean = ratings.reduce((s, r) => s + r.value, 0) / ratings.length;
    return { lossHistory: [], backend: 'js' };
  }

  async predict(tasks: readonly Task[], _items: ItemCatalog): Promise<Float32Array[]> {
    return tasks.map((t) => new Float32Array(t.query.length).fill(this.mean));
  }
}
