import type { FeedbackKind, ItemCatalog, Task } from '../data/types';
import type { EvalMethod, FitContext, FitResult, RankOptions } from '../eval/method';
import { BiasModel, clip, trainingRatings } from './bias-model';
import { InteractionIndex } from './interaction-index';
import { LogPopularity } from './log-popularity';
import { LAMBDA_GRID, pickBest, validationMae } from './tuning';

/**
 * Global mean + item bias; items unseen in training get a genre (content) regression of the bias.
 * On implicit data the item "bias" is the log-popularity (log-popularity.ts), with the same content
 * regression for unseen items. P2 ranks candidates by it (the same order for every user).
 */
export class ItemBias implements EvalMethod {
  static readonly kinds: readonly FeedbackKind[] = ['explicit', 'implicit'];
  readonly name = 'item-bias';
  private model?: BiasModel;
  private popularity?: LogPopularity;

  /** `ratingRange`: predictions are clipped to it; default: the data's declared scale (FitContext.scale). */
  constructor(private readonly ratingRange?: readonly [number, number]) {}

  private range: readonly [number, number] = [1, 5];

  async fit(ctx: FitContext): Promise<FitResult> {
    this.range = this.ratingRange ?? ctx.scale;
    if (ctx.kind === 'implicit') {
      // Nothing to tune: on warm validation candidates the ranking is plain popularity.
      this.popularity = LogPopularity.fit(InteractionIndex.fromTasks(ctx.train), ctx.items);
      return { lossHistory: [], backend: 'js', tuned: {} };
    }
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
    return Float32Array.from(task.query, (r) => clip(model.mean + model.itemBias(r.itemId), this.range));
  }

  async predict(
    tasks: readonly Task[],
    _items: ItemCatalog,
    _signal?: AbortSignal,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    if (this.popularity)
      throw new Error('item-bias: implicit feedback has no ratings to predict; P2 ranks it (rank)');
    if (!this.model) throw new Error('item-bias: predict before fit');
    const model = this.model.withEvidence(options?.itemEvidence);
    return tasks.map((t) => this.predictWith(model, t));
  }

  async rank(
    tasks: readonly Task[],
    candidates: readonly string[],
    _items: ItemCatalog,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    let scores: Float32Array;
    if (this.popularity) {
      const popularity = this.popularity.withEvidence(options?.itemEvidence);
      scores = Float32Array.from(candidates, (id) => popularity.score(id));
    } else if (this.model) {
      // Unclipped: clipping would tie every item predicted above the scale's top.
      const model = this.model.withEvidence(options?.itemEvidence);
      scores = Float32Array.from(candidates, (id) => model.mean + model.itemBias(id));
    } else throw new Error('item-bias: rank before fit');
    return tasks.map(() => scores.slice());
  }
}
