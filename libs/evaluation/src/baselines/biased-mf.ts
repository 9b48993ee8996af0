import type { FeedbackKind, ItemCatalog, Task } from '../data/types';
import type { EvalMethod, FitContext, FitResult, RankOptions } from '../eval/method';
import { rngFor } from '../util/rng';
import { throwIfAborted } from '../util/abort';
import { mfFoldIn, mfScore, trainBiasedMf, type MfModel, type MfParams } from './biased-mf-model';
import { ContentRidge } from './content-ridge';
import { InteractionIndex } from './interaction-index';
import { ItemVectors } from './item-vectors';
import { coordinateSearch, validationMae } from './tuning';

/**
 * Biased-MF hyper-parameters are searched one at a time from MF_START (tuning.ts
 * coordinateSearch) by validation MAE: reg, then factors. An option fixed in the constructor is
 * not searched.
 */
export const MF_START = { factors: 16, reg: 10 } as const;
export const MF_AXES = [
  { key: 'reg', values: [3, 10, 30] },
  { key: 'factors', values: [4, 16, 32] },
] as const;

const MF_ITERATIONS = 10;
/** Ridge of the content regression that gives unseen items their bias and factors. */
const CONTENT_RIDGE = 5;

export type BiasedMfOptions = Partial<MfParams>;

interface Fitted {
  params: MfParams;
  model: MfModel;
  vectors: ItemVectors;
}

/**
 * Biased matrix factorisation for explicit ratings, r = mean + b_u + b_i + p_u . q_i, fitted by
 * alternating least squares. A task's user is folded in from its support ratings alone: the ridge
 * solution of its [b_u, p_u] with the training penalty. Items unseen in training get [b_i, q_i]
 * from a content regression where they have content (else zeros: the mean), or a fold-in from
 * their item evidence (P2's new-item k-shot curve) by training users, shrunk toward that content
 * prediction. `rank` scores candidates by the unclipped predicted rating. Explicit data only.
 */
export class BiasedMf implements EvalMethod {
  static readonly kinds: readonly FeedbackKind[] = ['explicit'];
  private range: readonly [number, number] = [1, 5];
  readonly name = 'biased-mf';
  private fitted?: Fitted;

  constructor(
    /** Predictions are clipped to it; default: the data's declared scale (FitContext.scale). */
    private readonly ratingRange?: readonly [number, number],
    private readonly options: BiasedMfOptions = {},
  ) {}

  async fit(ctx: FitContext): Promise<FitResult> {
    this.range = this.ratingRange ?? ctx.scale;
    if (ctx.kind !== 'explicit') throw new Error('biased-mf: explicit ratings only (implicit feedback: als)');
    const index = InteractionIndex.fromTasks(ctx.train);
    if (index.items === 0) throw new RangeError('biased-mf: no training ratings');
    const o = this.options;
    const start = { factors: o.factors ?? MF_START.factors, reg: o.reg ?? MF_START.reg };
    const axes = MF_AXES.filter((a) => o[a.key] === undefined);
    const total = 1 + axes.reduce((n, a) => n + a.values.length - 1, 0);
    let best: { fitted: Fitted; mae: number } | undefined;
    let done = 0;
    await coordinateSearch(start, axes, async (point) => {
      throwIfAborted(ctx.signal);
      const params = { ...point, iterations: o.iterations ?? MF_ITERATIONS };
      const fitted = build(index, params, ctx, () => throwIfAborted(ctx.signal));
      const mae = validationMae(ctx.validation, (t) => this.predictTask(fitted, t));
      const value = Number.isNaN(mae) ? Infinity : mae;
      if (!best || value < best.mae) best = { fitted, mae: value };
      ctx.onProgress?.({ done: ++done, total });
      return -mae; // coordinateSearch maximises
    });
    if (!best) throw new Error('biased-mf: nothing was fitted');
    this.fitted = best.fitted;
    const { factors, reg, iterations } = best.fitted.params;
    return { lossHistory: [], backend: 'js', tuned: { factors, reg, iterations } };
  }

  async predict(
    tasks: readonly Task[],
    _items: ItemCatalog,
    _signal?: AbortSignal,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    const fitted = this.require();
    fitted.vectors.useEvidence(options?.itemEvidence);
    return tasks.map((t) => this.predictTask(fitted, t));
  }

  async rank(
    tasks: readonly Task[],
    candidates: readonly string[],
    _items: ItemCatalog,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    const fitted = this.require();
    fitted.vectors.useEvidence(options?.itemEvidence);
    const d = fitted.params.factors + 1;
    const rows = fitted.vectors.matrix(candidates);
    return tasks.map((task) => {
      const x = foldInUser(fitted, task);
      return Float32Array.from(candidates, (_, c) => mfScore(fitted.model.mean, x, rows, c, d));
    });
  }

  private predictTask(fitted: Fitted, task: Task): Float32Array {
    const d = fitted.params.factors + 1;
    const x = foldInUser(fitted, task);
    const rows = fitted.vectors.matrix(task.query.map((r) => r.itemId));
    const [low, high] = this.range;
    return Float32Array.from(task.query, (_, q) =>
      Math.min(high, Math.max(low, mfScore(fitted.model.mean, x, rows, q, d))),
    );
  }

  private require(): Fitted {
    if (!this.fitted) throw new Error('biased-mf: predict before fit');
    return this.fitted;
  }
}

function foldInUser(fitted: Fitted, task: Task): Float64Array {
  const d = fitted.params.factors + 1;
  const rows = fitted.vectors.matrix(task.support.map((r) => r.itemId));
  return mfFoldIn(
    fitted.model,
    rows,
    task.support.map((r) => r.value),
    d,
    fitted.params.reg,
  );
}

function build(
  index: InteractionIndex,
  params: MfParams,
  ctx: Pick<FitContext, 'items' | 'seed'>,
  checkAbort: () => void,
): Fitted {
  const d = params.factors + 1;
  const model = trainBiasedMf(index, params, rngFor(ctx.seed, 'biased-mf'), checkAbort);
  const examples = [];
  for (let i = 0; i < index.items; i++) {
    const item = ctx.items.get(index.itemIds[i]);
    if (item)
      examples.push({
        item,
        target: model.items.subarray(i * d, (i + 1) * d),
        weight: Math.min(index.count(i), 50),
      });
  }
  const vectors = new ItemVectors(
    d,
    index,
    model.items,
    ContentRidge.fit(examples, d, CONTENT_RIDGE),
    ctx.items,
    (users, values, prior) => {
      const rows = new Float32Array(users.length * d);
      users.forEach((u, n) => rows.set(model.users.subarray(u * d, (u + 1) * d), n * d));
      return mfFoldIn(model, rows, values, d, params.reg, prior);
    },
  );
  return { params, model, vectors };
}
