import type { ItemCatalog, Task } from '../data/types';
import type { EvalMethod, FitContext, FitResult } from '../eval/method';
import { BiasModel, clip, trainingRatings } from './bias-model';
import { LAMBDA_GRID, pickBest, validationMae } from './tuning';

/**
 * The strongest P1 baseline: global mean + item bias (genre regression for unseen items) + a user
 * bias estimated from the task's support set alone, shrunk by `lambdaUser`.
 */
export class UserItemBias implements EvalMethod {
  readonly name = 'user-item-bias';
  private model?: BiasModel;
  private lambdaUser = 5;

  constructor(private readonly ratingRange: readonly [number, number] = [1, 5]) {}

  async fit(ctx: FitContext): Promise<FitResult> {
    const ratings = trainingRatings(ctx.train);
    const candidates = LAMBDA_GRID.flatMap((lambdaItem) => {
      const model = BiasModel.fit(ratings, ctx.items, lambdaItem);
      return LAMBDA_GRID.map((lambdaUser) => ({ lambdaItem, lambdaUser, model }));
    });
    const best = pickBest(candidates, (c) =>
      validationMae(ctx.validation, (t) => this.predictWith(c.model, c.lambdaUser, t)),
    );
    this.model = best.model;
    this.lambdaUser = best.lambdaUser;
    return {
      lossHistory: [],
      backend: 'js',
      tuned: { lambdaItem: best.lambdaItem, lambdaUser: best.lambdaUser },
    };
  }

  private predictWith(model: BiasModel, lambdaUser: number, task: Task): Float32Array {
    let residual = 0;
    for (const r of task.support) residual += r.value - model.mean - model.itemBias(r.itemId);
    const userBias = residual / (task.support.length + lambdaUser || 1);
    return Float32Array.from(task.query, (r) =>
      clip(model.mean + model.itemBias(r.itemId) + userBias, this.ratingRange),
    );
  }

  async predict(tasks: readonly Task[], _items: ItemCatalog): Promise<Float32Array[]> {
    const model = this.model;
    if (!model) throw new Error('user-item-bias: predict before fit');
    return tasks.map((t) => this.predictWith(model, this.lambdaUser, t));
  }
}
