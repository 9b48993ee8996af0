import type { ItemCatalog, Task } from '../data/types';
import type { EvalMethod, FitContext, FitResult } from '../eval/method';
import { BiasModel, clip, trainingRatings } from './bias-model';
import { LAMBDA_GRID, pickBest, validationMae } from './tuning';

/** Global mean + item bias; items unseen in training get a genre (content) regression of the bias. */
export class ItemBias implements EvalMethod {
  readonly name = 'item-bias';
  private model?: BiasModel;

  constructor(private readonly ratingRange: readonly [number, number] = [1, 5]) {}

  async fit(ctx: FitContext): Promise<FitResult> {
    const ratings = trainingRatings(ctx.train);
    const candidates = LAMBDA_GRID.map((lambda) => ({
      lambda,
      model: BiasModel.fit(ratings, ctx.items, lambda),
    }));
    const best = pickBest(candidates, (c) =>
      validationMae(ctx.validation, (t) => this.predictWith(c.model, t)),
    );
    this.model = best.model;
    return { lossHistory: [], backend: 'js', tuned: { lambdaItem: best.lambda } };
  }

  private predictWith(model: BiasModel, task: Task): Float32Array {
    return Float32Array.from(task.query, (r) =>
      clip(model.mean + model.itemBias(r.itemId), this.ratingRange),
    );
  }

  async predict(tasks: readonly Task[], _items: ItemCatalog): Promise<Float32Array[]> {
    const model = this.model;
    if (!model) throw new Error('item-bias: predict before fit');
    return tasks.map((t) => this.predictWith(model, t));
  }
}
