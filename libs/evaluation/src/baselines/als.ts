import type { FeedbackKind, ItemCatalog, Task } from '../data/types';
import type { EvalMethod, FitContext, FitResult, RankOptions } from '../eval/method';
import { rngFor } from '../util/rng';
import { throwIfAborted } from '../util/abort';
import { alsFoldIn, trainAls, type AlsParams } from './als-model';
import { ContentRidge } from './content-ridge';
import { gram, matVec } from './dense';
import { InteractionIndex } from './interaction-index';
import { ItemVectors } from './item-vectors';
import { coordinateSearch } from './tuning';
import { validationRankingScore } from './validation';

/**
 * ALS hyper-parameters are searched one at a time from ALS_START (tuning.ts coordinateSearch), by
 * validation NDCG@20: alpha, then reg, then factors. An option fixed in the constructor is not searched.
 */
export const ALS_START = { factors: 32, reg: 10, alpha: 10 } as const;
export const ALS_AXES = [
  { key: 'alpha', values: [3, 10, 30] },
  { key: 'reg', values: [1, 10, 100] },
  { key: 'factors', values: [16, 32, 64] },
] as const;

const ALS_ITERATIONS = 10;
const ALS_CG_STEPS = 3;
/** Ridge of the content regression that gives unseen items their factors. */
const CONTENT_RIDGE = 5;

export type AlsOptions = Partial<Pick<AlsParams, 'factors' | 'reg' | 'alpha' | 'iterations'>>;

interface AlsModel {
  params: AlsParams;
  /** YtY + reg I over the training items, for folding users in. */
  itemGram: Float64Array;
  vectors: ItemVectors;
}

/**
 * Implicit matrix factorisation by ALS (Hu, Koren & Volinsky 2008) with uniform confidence
 * 1 + alpha (als-model.ts: exact solves for users and items with few interactions, conjugate-
 * gradient steps for the others). A task's user is folded in by one exact least-squares solve of
 * its vector from its support items; candidates score by the dot product. Items unseen in training
 * get a factor from a content regression where they have content (else zero), or a fold-in from
 * their item evidence (P2's new-item k-shot curve) by training users, shrunk toward that content
 * prediction. Implicit data only (explicit: biased-mf).
 */
export class ImplicitAls implements EvalMethod {
  static readonly kinds: readonly FeedbackKind[] = ['implicit'];
  readonly name = 'als';
  private model?: AlsModel;

  constructor(private readonly options: AlsOptions = {}) {}

  async fit(ctx: FitContext): Promise<FitResult> {
    if (ctx.kind !== 'implicit') throw new Error('als: implicit feedback only (explicit ratings: biased-mf)');
    const index = InteractionIndex.fromTasks(ctx.train);
    if (index.items === 0) throw new RangeError('als: no training ratings');
    const o = this.options;
    const start = {
      factors: o.factors ?? ALS_START.factors,
      reg: o.reg ?? ALS_START.reg,
      alpha: o.alpha ?? ALS_START.alpha,
    };
    const axes = ALS_AXES.filter((a) => o[a.key] === undefined);
    const total = 1 + axes.reduce((n, a) => n + a.values.length - 1, 0);
    // Only the best model so far is kept, never every candidate's factors.
    let best: { model: AlsModel; score: number } | undefined;
    let done = 0;
    await coordinateSearch(start, axes, async (point) => {
      throwIfAborted(ctx.signal);
      const params = { ...point, iterations: o.iterations ?? ALS_ITERATIONS, cgSteps: ALS_CG_STEPS };
      const model = buildModel(index, params, ctx, () => throwIfAborted(ctx.signal));
      const score = await validationRankingScore(rankerOf(model), ctx);
      const value = Number.isNaN(score) ? -Infinity : score;
      if (!best || value > best.score) best = { model, score: value };
      ctx.onProgress?.({ done: ++done, total });
      return score;
    });
    if (!best) throw new Error('als: nothing was fitted');
    this.model = best.model;
    const { factors, reg, alpha, iterations } = best.model.params;
    return { lossHistory: [], backend: 'js', tuned: { factors, reg, alpha, iterations } };
  }

  async predict(): Promise<Float32Array[]> {
    throw new Error('als: implicit feedback has no ratings to predict; P2 ranks it (rank)');
  }

  async rank(
    tasks: readonly Task[],
    candidates: readonly string[],
    _items: ItemCatalog,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    if (!this.model) throw new Error('als: rank before fit');
    return rankWith(this.model, tasks, candidates, options);
  }
}

function buildModel(
  index: InteractionIndex,
  params: AlsParams,
  ctx: Pick<FitContext, 'items' | 'seed'>,
  checkAbort: () => void,
): AlsModel {
  const f = params.factors;
  const { users, items } = trainAls(index, params, rngFor(ctx.seed, 'als'), checkAbort);
  const examples = [];
  for (let i = 0; i < index.items; i++) {
    const item = ctx.items.get(index.itemIds[i]);
    if (item)
      examples.push({
        item,
        target: items.subarray(i * f, (i + 1) * f),
        weight: Math.min(index.count(i), 50),
      });
  }
  const userGram = gram(users, index.users, f, params.reg);
  const vectors = new ItemVectors(
    f,
    index,
    items,
    ContentRidge.fit(examples, f, CONTENT_RIDGE),
    ctx.items,
    (rows, _values, prior) => {
      const v = new Float32Array(rows.length * f);
      rows.forEach((u, r) => v.set(users.subarray(u * f, (u + 1) * f), r * f));
      return alsFoldIn(userGram, v, rows.length, f, params, prior);
    },
  );
  return { params, itemGram: gram(items, index.items, f, params.reg), vectors };
}

function rankWith(
  model: AlsModel,
  tasks: readonly Task[],
  candidates: readonly string[],
  options: RankOptions | undefined,
): Float32Array[] {
  const f = model.params.factors;
  model.vectors.useEvidence(options?.itemEvidence);
  const cand = model.vectors.matrix(candidates);
  return tasks.map((task) => {
    const support = [...new Set(task.support.map((r) => r.itemId))];
    const x = alsFoldIn(model.itemGram, model.vectors.matrix(support), support.length, f, model.params);
    return matVec(cand, candidates.length, f, x, new Float32Array(candidates.length));
  });
}

function rankerOf(model: AlsModel) {
  return {
    rank: async (
      tasks: readonly Task[],
      candidates: readonly string[],
      _items: ItemCatalog,
      options?: RankOptions,
    ) => rankWith(model, tasks, candidates, options),
  };
}
