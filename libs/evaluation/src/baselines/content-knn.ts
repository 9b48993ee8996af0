import type { FeedbackKind, ItemCatalog, ItemRecord, Task } from '../data/types';
import type { EvalMethod, FitContext, FitResult, RankOptions } from '../eval/method';
import { throwIfAborted } from '../util/abort';
import { userBias } from './bias-model';
import { breakTies, candidateItems, popularityShares } from './candidates';
import { ContentVectors, sparseDot, type SparseVector } from './content-vectors';
import { InteractionIndex } from './interaction-index';
import { KNN_SHRINK } from './knn';
import { pickBest, pickHighest, validationMae } from './tuning';
import { fitUserItemBias, type UserItemBiasFit } from './user-item-bias';
import { validationRankingScore } from './validation';

/** How many of the most similar support items count, tried on the validation users. */
export const CONTENT_KNN_GRID = [5, 20, 100] as const;

export interface ContentKnnOptions {
  /** Fixes the ranking neighbourhood size instead of tuning it. */
  neighbours?: number;
  /** Fixes the explicit rating predictor's neighbourhood size instead of tuning it. */
  predictNeighbours?: number;
}

/**
 * Content-kNN, for new items: a candidate scores the sum of its content similarities (cosine of
 * TF-IDF content vectors, content-vectors.ts) to its K most similar support items, so an item
 * never interacted with is scored the moment it has content. Popularity breaks ties
 * (candidates.ts), e.g. between items of the same genres or with no content in common with the
 * support; on a catalog without item content it is therefore popularity (`ContentKnn.applicable`
 * tells). Explicit ratings are predicted as
 * user-item bias plus the similarity-weighted mean of the K most similar support items' residuals.
 * Item evidence is not used (content does not change with interactions).
 */
export class ContentKnn implements EvalMethod {
  static readonly kinds: readonly FeedbackKind[] = ['implicit', 'explicit'];
  private range: readonly [number, number] = [1, 5];
  readonly name = 'content-knn';
  private vectors?: ContentVectors;
  private index?: InteractionIndex;
  private maxCount = 0;
  private k = 0;
  private kPredict = 0;
  private base?: UserItemBiasFit;

  constructor(
    /** Predictions are clipped to it; default: the data's declared scale (FitContext.scale). */
    private readonly ratingRange?: readonly [number, number],
    private readonly options: ContentKnnOptions = {},
  ) {}

  /** Whether some content is shared between items of the catalog (else content-kNN is only popularity). */
  static applicable(items: Iterable<ItemRecord>): boolean {
    const catalog = [...items];
    return !ContentVectors.fit(catalog, new Map(catalog.map((i) => [i.id, i]))).empty;
  }

  async fit(ctx: FitContext): Promise<FitResult> {
    this.range = this.ratingRange ?? ctx.scale;
    this.index = InteractionIndex.fromTasks(ctx.train);
    if (this.index.items === 0) throw new RangeError('content-knn: no training ratings');
    this.maxCount = 0;
    for (let i = 0; i < this.index.items; i++) this.maxCount = Math.max(this.maxCount, this.index.count(i));
    this.vectors = ContentVectors.fit(catalogItems(ctx.items), ctx.items);
    const rankGrid =
      this.options.neighbours !== undefined ? [this.options.neighbours] : [...CONTENT_KNN_GRID];
    const predictGrid =
      this.options.predictNeighbours !== undefined ? [this.options.predictNeighbours] : [...CONTENT_KNN_GRID];
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
        return validationMae(ctx.validation, (t) => this.predictTask(base, kp, t));
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
    _options?: RankOptions,
  ): Promise<Float32Array[]> {
    const { vectors, index } = this.require();
    const shares = popularityShares(
      candidateItems(candidates, index.itemIndex),
      (i) => index.count(i),
      this.maxCount,
    );
    // Candidates with the same content (e.g. the same genres) score alike: each distinct vector once per task.
    const groups = uniqueVectors(candidates.map((id) => vectors.vector(id)));
    return tasks.map((task) => {
      const scores = new Float32Array(candidates.length);
      const support = uniqueVectors(
        [...new Set(task.support.map((r) => r.itemId))].map((id) => vectors.vector(id)),
      );
      if (support.vectors.length > 0) {
        const sims = new Float64Array(support.vectors.length);
        const touched: number[] = [];
        const groupScores = Float64Array.from(groups.vectors, (v) => {
          touched.length = 0;
          for (let e = 0; e < v.cols.length; e++) {
            const posting = support.postings.get(v.cols[e]);
            if (!posting) continue;
            for (let p = 0; p < posting.length; p += 2) {
              const u = posting[p];
              if (sims[u] === 0) touched.push(u);
              sims[u] += v.vals[e] * posting[p + 1];
            }
          }
          const sum = topKSum(touched, sims, support.multiplicity, this.k);
          for (const u of touched) sims[u] = 0;
          return sum;
        });
        groups.of.forEach((g, c) => {
          if (g >= 0) scores[c] = groupScores[g];
        });
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
    this.require();
    if (!this.base)
      throw new Error('content-knn: implicit feedback has no ratings to predict; P2 ranks it (rank)');
    const base = { ...this.base, model: this.base.model.withEvidence(options?.itemEvidence) };
    return tasks.map((t) => this.predictTask(base, this.kPredict, t));
  }

  /** User-item bias + sum(sim * residual) / (sum(sim) + KNN_SHRINK) over the K support items most similar in content. */
  private predictTask(base: UserItemBiasFit, k: number, task: Task): Float32Array {
    const { vectors } = this.require();
    const { model } = base;
    const bu = userBias(model, base.lambdaUser, task.support);
    const support = task.support.map((r) => ({
      v: vectors.vector(r.itemId),
      residual: r.value - model.mean - model.itemBias(r.itemId) - bu,
    }));
    const [low, high] = this.range;
    return Float32Array.from(task.query, (r) => {
      let knn = 0;
      const v = vectors.vector(r.itemId);
      if (v) {
        const near = support
          .map((s) => ({ sim: s.v ? sparseDot(v, s.v) : 0, residual: s.residual }))
          .filter((s) => s.sim > 0)
          .sort((a, b) => b.sim - a.sim)
          .slice(0, k);
        let num = 0;
        let den = 0;
        for (const s of near) {
          num += s.sim * s.residual;
          den += s.sim;
        }
        knn = num / (den + KNN_SHRINK);
      }
      return Math.min(high, Math.max(low, model.mean + model.itemBias(r.itemId) + bu + knn));
    });
  }

  private require(): { vectors: ContentVectors; index: InteractionIndex } {
    if (!this.vectors || !this.index) throw new Error('content-knn: rank before fit');
    return { vectors: this.vectors, index: this.index };
  }
}

function catalogItems(items: ItemCatalog): Iterable<ItemRecord> {
  return items.values();
}

/**
 * The distinct content vectors among `vectors` (items of the same genres share one): how many
 * entries each stands for, which one each entry is (`of`, -1: no vector), and an inverted index
 * column -> [vector, value, ...].
 */
function uniqueVectors(vectors: readonly (SparseVector | undefined)[]) {
  const bySignature = new Map<string, number>();
  const unique: SparseVector[] = [];
  const multiplicity: number[] = [];
  const of = new Int32Array(vectors.length).fill(-1);
  vectors.forEach((v, i) => {
    if (!v) return;
    const signature = `${v.cols.join(',')}|${v.vals.join(',')}`;
    const at = bySignature.get(signature);
    if (at !== undefined) {
      multiplicity[at]++;
      of[i] = at;
    } else {
      of[i] = unique.length;
      bySignature.set(signature, unique.length);
      unique.push(v);
      multiplicity.push(1);
    }
  });
  const postings = new Map<number, number[]>();
  unique.forEach((v, u) => {
    for (let e = 0; e < v.cols.length; e++) {
      const list = postings.get(v.cols[e]) ?? [];
      list.push(u, v.vals[e]);
      postings.set(v.cols[e], list);
    }
  });
  return { vectors: unique, multiplicity, postings, of };
}

/**
 * Sum of the k largest similarities, each distinct vector counted as often as support items share
 * it. `touched` is short (the support vectors sharing a column with the candidate): an insertion
 * sort of it, in place, costs less than a comparator sort per candidate.
 */
function topKSum(touched: number[], sims: Float64Array, multiplicity: readonly number[], k: number): number {
  let count = 0;
  let sum = 0;
  for (const u of touched) {
    count += multiplicity[u];
    sum += multiplicity[u] * sims[u];
  }
  if (count <= k) return sum;
  for (let i = 1; i < touched.length; i++) {
    const u = touched[i];
    let j = i - 1;
    while (j >= 0 && (sims[touched[j]] < sims[u] || (sims[touched[j]] === sims[u] && touched[j] > u))) {
      touched[j + 1] = touched[j];
      j--;
    }
    touched[j + 1] = u;
  }
  sum = 0;
  let left = k;
  for (const u of touched) {
    const m = Math.min(left, multiplicity[u]);
    sum += m * sims[u];
    left -= m;
    if (left === 0) break;
  }
  return sum;
}
