import type { FeedbackKind, ItemCatalog, Task } from '../data/types';
import type { EvalMethod, FitContext, FitResult, RankOptions } from '../eval/method';
import { BiasModel, clip, trainingRatings, userBias } from './bias-model';
import { LAMBDA_GRID, pickBest, validationMae } from './tuning';

/** Mean + item bias (content regression for unseen items) + a support-set user bias, with their shrinkages. */
export interface UserItemBiasFit {
  model: BiasModel;
  lambdaItem: number;
  lambdaUser: number;
}

/**
 * Fits the user-item bias model, both shrinkages chosen on the validation users' MAE (explicit
 * data only). Also the baseline under the explicit kNN predictors.
 */
export function fitUserItemBias(
  ctx: Pick<FitContext, 'train' | 'validation' | 'items'>,
  ratingRange: readonly [number, number],
): UserItemBiasFit {
  const ratings = trainingRatings(ctx.train);
  const candidates = LAMBDA_GRID.flatMap((lambdaItem) => {
    const model = BiasModel.fit(ratings, ctx.items, lambdaItem);
    return LAMBDA_GRID.map((lambdaUser) => ({ lambdaItem, lambdaUser, model }));
  });
  return pickBest(candidates, (c) =>
    validationMae(ctx.validation, (t) => predictUserItemBias(c, t, ratingRange)),
  );
}

/** The user-item bias predictions of a task's query items. */
export function predictUserItemBias(
  fit: Pick<UserItemBiasFit, 'model' | 'lambdaUser'>,
  task: Task,
  ratingRange: readonly [number, number],
): Float32Array {
  const { model } = fit;
  const bias = userBias(model, fit.lambdaUser, task.support);
  return Float32Array.from(task.query, (r) =>
    clip(model.mean + model.itemBias(r.itemId) + bias, ratingRange),
  );
}

/**
 * The strongest P1 baseline: global mean + item bias (genre regression for unseen items) + a user
 * bias estimated from the task's support set alone, shrunk by `lambdaUser`. Explicit data only: on
 * implicit feedback every value is 1, so a user term is constant per user and the ranking would be
 * item-bias's (log-popularity) exactly. Its P2 ranking is that of item-bias too (the user bias
 * shifts every candidate alike), reported for completeness.
 */
export class UserItemBias implements EvalMethod {
  static readonly kinds: readonly FeedbackKind[] = ['explicit'];
  readonly name = 'user-item-bias';
  private fitted?: UserItemBiasFit;

  /** `ratingRange`: predictions are clipped to it; default: the data's declared scale (FitContext.scale). */
  constructor(private readonly ratingRange?: readonly [number, number]) {}

  private range: readonly [number, number] = [1, 5];

  async fit(ctx: FitContext): Promise<FitResult> {
    this.range = this.ratingRange ?? ctx.scale;
    if (ctx.kind === 'implicit') {
      throw new Error(
        'user-item-bias: explicit ratings only (on implicit feedback a user bias shifts every item alike; item-bias is the same ranking)',
      );
    }
    this.fitted = fitUserItemBias(ctx, this.range);
    return {
      lossHistory: [],
      backend: 'js',
      tuned: { lambdaItem: this.fitted.lambdaItem, lambdaUser: this.fitted.lambdaUser },
    };
  }

  private withEvidence(options: RankOptions | undefined): UserItemBiasFit {
    if (!this.fitted) throw new Error('user-item-bias: predict before fit');
    return { ...this.fitted, model: this.fitted.model.withEvidence(options?.itemEvidence) };
  }

  async predict(
    tasks: readonly Task[],
    _items: ItemCatalog,
    _signal?: AbortSignal,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    const fitted = this.withEvidence(options);
    return tasks.map((t) => predictUserItemBias(fitted, t, this.range));
  }

  async rank(
    tasks: readonly Task[],
    candidates: readonly string[],
    _items: ItemCatalog,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    const { model, lambdaUser } = this.withEvidence(options);
    const base = Float32Array.from(candidates, (id) => model.mean + model.itemBias(id));
    return tasks.map((t) => {
      const bias = userBias(model, lambdaUser, t.support);
      return base.map((s) => s + bias);
    });
  }
}
