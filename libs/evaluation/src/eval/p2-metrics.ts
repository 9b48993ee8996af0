/**
 * P2's per-scenario figures of one method: full-catalog ranking for every task (both kinds) and,
 * for explicit data, P1's query metrics (MAE, RMSE, nDCG@3, P@5 with P2's relevance threshold).
 */
import type { FeedbackKind, ItemCatalog, RatingEvent, Task } from '../data/types';
import { throwIfAborted } from '../util/abort';
import type { EvalMethod } from './method';
import { rankingScores } from './ranking-metrics';
import { scenarioMetrics, type ScenarioMetrics } from './task-metrics';

/** P2's cut-offs: Recall@20, NDCG@20, HR@10. */
export const P2_CUTOFFS = { recall: 20, ndcg: 20, hit: 10 } as const;

/** Tasks per `rank` call: bounds memory (tasks x candidates scores) and lets Ctrl-C through. */
export const RANK_CHUNK = 128;

export interface RankingMetrics {
  recall20: number;
  ndcg20: number;
  hr10: number;
  /** Tasks with at least one relevant query item (the others have nothing to find). */
  rankingTasks: number;
}

export type P2Metrics = ScenarioMetrics & RankingMetrics;

export const NO_RANKING: RankingMetrics = { recall20: NaN, ndcg20: NaN, hr10: NaN, rankingTasks: 0 };
const NO_QUERY_METRICS: ScenarioMetrics = { mae: NaN, rmse: NaN, ndcg3: NaN, p5: NaN, tasks: 0 };

/** How P2 decides relevance: explicit ratings at or above the top `share` of the scale; implicit: all. */
export interface Relevance {
  kind: FeedbackKind;
  /** Explicit: the lowest relevant rating. */
  threshold: number;
}

export function relevanceOf(kind: FeedbackKind, scale: readonly [number, number], share: number): Relevance {
  const [lo, hi] = scale;
  return { kind, threshold: lo + (1 - share) * (hi - lo) };
}

export function isRelevant(value: number, relevance: Relevance): boolean {
  // A small tolerance: 1 + 0.7 * 4 is 3.8000000000000003 in floating point.
  return relevance.kind === 'implicit' || value >= relevance.threshold - 1e-9;
}

export interface ScenarioInput {
  tasks: readonly Task[];
  candidates: readonly string[];
  itemEvidence?: readonly RatingEvent[];
}

/** Every figure of one scenario (or k-shot point) for one fitted method. */
export async function p2Metrics(
  method: EvalMethod,
  input: ScenarioInput,
  items: ItemCatalog,
  relevance: Relevance,
  signal?: AbortSignal,
): Promise<P2Metrics> {
  const options = { ...(input.itemEvidence?.length && { itemEvidence: input.itemEvidence }), signal };
  const query =
    relevance.kind === 'explicit' && input.tasks.length > 0
      ? scenarioMetrics(
          input.tasks,
          await method.predict(input.tasks, items, signal, options),
          relevance.threshold - 1e-9,
        )
      : { ...NO_QUERY_METRICS, tasks: input.tasks.length };
  const ranking = await rankingMetrics(method, input, items, relevance, signal);
  return { ...query, ...ranking };
}

/** Recall@20, NDCG@20 and HR@10 over the tasks with a relevant query item, ranked in chunks. */
export async function rankingMetrics(
  method: EvalMethod,
  input: ScenarioInput,
  items: ItemCatalog,
  relevance: Relevance,
  signal?: AbortSignal,
): Promise<RankingMetrics> {
  const index = new Map(input.candidates.map((id, i) => [id, i]));
  const options = { ...(input.itemEvidence?.length && { itemEvidence: input.itemEvidence }), signal };
  let recall = 0;
  let ndcg = 0;
  let hit = 0;
  let n = 0;
  for (let start = 0; start < input.tasks.length; start += RANK_CHUNK) {
    throwIfAborted(signal);
    const chunk = input.tasks.slice(start, start + RANK_CHUNK);
    const scores = await method.rank(chunk, input.candidates, items, options);
    if (scores.length !== chunk.length)
      throw new Error(
        `${method.name}: rank returned ${scores.length} score arrays for ${chunk.length} tasks`,
      );
    chunk.forEach((task, t) => {
      if (scores[t].length !== input.candidates.length) {
        throw new Error(
          `${method.name}: rank returned ${scores[t].length} scores for ${input.candidates.length} candidates`,
        );
      }
      const excluded = new Set<number>();
      for (const r of task.support) {
        const i = index.get(r.itemId);
        if (i !== undefined) excluded.add(i);
      }
      const relevant: number[] = [];
      for (const r of task.query) {
        const i = index.get(r.itemId);
        if (i !== undefined && !excluded.has(i) && isRelevant(r.value, relevance)) relevant.push(i);
      }
      if (relevant.length === 0) return;
      const s = rankingScores(scores[t], relevant, P2_CUTOFFS, excluded);
      recall += s.recall;
      ndcg += s.ndcg;
      hit += s.hit;
      n++;
    });
    await new Promise((r) => setImmediate(r));
  }
  if (n === 0) return NO_RANKING;
  return { recall20: recall / n, ndcg20: ndcg / n, hr10: hit / n, rankingTasks: n };
}
