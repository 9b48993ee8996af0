import type { FeedbackKind, ItemCatalog, RatingEvent, Task } from '../data/types';
import type { EvalMethod, FitContext, FitResult, RankOptions } from '../eval/method';
import { throwIfAborted } from '../util/abort';
import { userBias } from './bias-model';
import { breakTies, candidateItems, candidatePositions, popularityShares } from './candidates';
import { InteractionIndex } from './interaction-index';
import { ItemNeighbours } from '@warmstart/core';
import { KNN_SHRINK } from './knn';
import { pickBest, pickHighest, validationMae } from './tuning';
import { fitUserItemBias, type UserItemBiasFit } from './user-item-bias';
import { validationRankingScore } from './validation';

/** Neighbourhood sizes tried on the validation users (each item keeps its K most similar items). */
export const ITEM_KNN_GRID = [25, 50, 100, 200, 400] as const;

export interface ItemKnnOptions {
  /** Fixes the ranking neighbourhood size instead of tuning it. */
  neighbours?: number;
  /** Fixes the explicit rating predictor's neighbourhood size instead of tuning it. */
  predictNeighbours?: number;
}

interface Structures {
  index: InteractionIndex;
  neighbours: ItemNeighbours;
  maxCount: number;
}

/**
 * Item-kNN: cosine similarity of items' binary user columns in the warm training interactions
 * (ratings of any value count as interactions); each item keeps its K most similar items. A
 * candidate scores the sum of its similarities to the task's support items, over the support
 * items' neighbourhoods; popularity breaks ties (candidates.ts), e.g. between the candidates
 * no support item reaches. Explicit ratings are predicted as user-item bias plus the similarity-weighted mean of
 * the support items' residuals. Item evidence (P2's new-item k-shot curve) joins the interactions
 * the similarities are computed from: a new item co-occurs with whatever its evidence users did.
 */
export class ItemKnn implements EvalMethod {
  static readonly kinds: readonly FeedbackKind[] = ['implicit', 'explicit'];
  private range: readonly [number, number] = [1, 5];
  readonly name = 'item-knn';
  private trained?: Structures;
  private withEvidence?: { evidence: readonly RatingEvent[]; structures: Structures };
  private k = 0;
  private kPredict = 0;
  private base?: UserItemBiasFit;

  constructor(
    /** Predictions are clipped to it; default: the data's declared scale (FitContext.scale). */
    private readonly ratingRange?: readonly [number, number],
    private readonly options: ItemKnnOptions = {},
  ) {}

  async fit(ctx: FitContext): Promise<FitResult> {
    this.range = this.ratingRange ?? ctx.scale;
    const index = InteractionIndex.fromTasks(ctx.train);
    if (index.items === 0) throw new RangeError('item-knn: no training ratings');
    const rankGrid = this.options.neighbours !== undefined ? [this.options.neighbours] : [...ITEM_KNN_GRID];
    const predictGrid =
      this.options.predictNeighbours !== undefined ? [this.options.predictNeighbours] : [...ITEM_KNN_GRID];
    const maxK = Math.max(...rankGrid, ...(ctx.kind === 'explicit' ? predictGrid : []));
    this.trained = structures(index, maxK);
    this.withEvidence = undefined;
    const total = rankGrid.length + (ctx.kind === 'explicit' ? predictGrid.length : 0);
    let done = 0;
    const { best: k } = await pickHighest(rankGrid, async (k) => {
      throwIfAborted(ctx.signal);
      this.k = k;
      const score = await validationRankingScore(this, ctx);
      ctx.onProgress?.({ done: ++done, total });
      return score;
    });
    this.k = k;
    const tuned: Record<string, unknown> = { neighbours: k };
    if (ctx.kind === 'explicit') {
      const base = fitUserItemBias(ctx, this.range);
      this.base = base;
      this.kPredict = pickBest(predictGrid, (kp) => {
        ctx.onProgress?.({ done: ++done, total });
        return validationMae(ctx.validation, (t) => this.predictTask(this.trained!, base, kp, t));
      });
      Object.assign(tuned, {
        predictNeighbours: this.kPredict,
        lambdaItem: base.lambdaItem,
        lambdaUser: base.lambdaUser,
      });
    }
    return { lossHistory: [], backend: 'js', tuned };
  }

  async rank(
    tasks: readonly Task[],
    candidates: readonly string[],
    _items: ItemCatalog,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    const { index, neighbours, maxCount } = this.structures(options?.itemEvidence);
    const candidateItem = candidateItems(candidates, index.itemIndex);
    const positions = candidatePositions(index.items, candidateItem);
    const shares = popularityShares(candidateItem, (i) => index.count(i), maxCount);
    return tasks.map((task) => {
      const scores = new Float32Array(candidates.length);
      for (const item of new Set(task.support.map((r) => r.itemId))) {
        const i = index.itemIndex.get(item);
        if (i !== undefined) neighbours.accumulate(i, this.k, positions, scores);
      }
      return breakTies(scores, shares);
    });
  }

  async predict(
    tasks: readonly Task[],
    _items: ItemCatalog,
    _signal?: AbortSignal,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    if (!this.trained) throw new Error('item-knn: predict before fit');
    if (!this.base)
      throw new Error('item-knn: implicit feedback has no ratings to predict; P2 ranks it (rank)');
    const s = this.structures(options?.itemEvidence);
    const base = { ...this.base, model: this.base.model.withEvidence(options?.itemEvidence) };
    return tasks.map((t) => this.predictTask(s, base, this.kPredict, t));
  }

  /** User-item bias + sum(sim * support residual) / (sum(sim) + KNN_SHRINK) over the support items whose K-neighbourhood holds the query item. */
  private predictTask(s: Structures, base: UserItemBiasFit, k: number, task: Task): Float32Array {
    const { model } = base;
    const bu = userBias(model, base.lambdaUser, task.support);
    const slots = new Map<number, number>(); // model item -> slot of its first query position
    const slotOf = task.query.map((r) => {
      const i = s.index.itemIndex.get(r.itemId);
      if (i === undefined) return -1;
      if (!slots.has(i)) slots.set(i, slots.size);
      return slots.get(i)!;
    });
    const positions = new Int32Array(s.index.items).fill(-1);
    for (const [i, slot] of slots) positions[i] = slot;
    const num = new Float64Array(slots.size);
    const den = new Float64Array(slots.size);
    for (const r of task.support) {
      const i = s.index.itemIndex.get(r.itemId);
      if (i === undefined) continue;
      const residual = r.value - model.mean - model.itemBias(r.itemId) - bu;
      s.neighbours.accumulate(i, k, positions, num, residual);
      s.neighbours.accumulate(i, k, positions, den);
    }
    const [low, high] = this.range;
    return Float32Array.from(task.query, (r, q) => {
      const slot = slotOf[q];
      const knn = slot >= 0 ? num[slot] / (den[slot] + KNN_SHRINK) : 0;
      return Math.min(high, Math.max(low, model.mean + model.itemBias(r.itemId) + bu + knn));
    });
  }

  /** The trained similarities, or (cached per evidence array) those recomputed with the item evidence. */
  private structures(evidence: readonly RatingEvent[] | undefined): Structures {
    const trained = this.trained;
    if (!trained) throw new Error('item-knn: rank before fit');
    if (!evidence || evidence.length === 0) return trained;
    if (this.withEvidence?.evidence !== evidence) {
      const k = Math.max(this.k, this.kPredict);
      this.withEvidence = { evidence, structures: structures(trained.index.withEvidence(evidence), k) };
    }
    return this.withEvidence.structures;
  }
}

function structures(index: InteractionIndex, maxK: number): Structures {
  let maxCount = 0;
  for (let i = 0; i < index.items; i++) maxCount = Math.max(maxCount, index.count(i));
  return { index, neighbours: ItemNeighbours.build(index, maxK), maxCount };
}
