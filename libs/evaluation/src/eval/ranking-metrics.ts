/**
 * Full-catalog ranking metrics of protocol P2 (docs/protocols.md, "P2"): one task's
 * scores over every candidate item, the indices of its relevant (query) items, and the indices to
 * leave out of the ranking (the task's support items).
 *
 * Ranking: descending score; equal scores keep candidate order (lower index first), so results are
 * deterministic (P2 lists candidates in a seeded random order, so ties never follow ids); NaN
 * scores are never ranked. The top k is found in one pass over the scores with a
 * k-slot insertion buffer (O(n) plus O(k) per improvement), never by sorting the whole catalog:
 * P2 ranks catalogs of 10k-20k items for thousands of tasks.
 *
 * Definitions (binary relevance; R = the relevant items that are not excluded):
 * - Recall@k = |top k ∩ R| / min(k, |R|): the share of what a perfect top k would hold, 1 for a
 *   perfect ranking even when |R| > k (the normalised recall of Liang et al. 2018, "Variational
 *   autoencoders for collaborative filtering").
 * - NDCG@k = DCG@k / IDCG@k with gain 1 for a relevant item at rank r (0-based) discounted by
 *   1 / log2(r + 2); IDCG@k puts min(k, |R|) relevant items first.
 * - HR@k = 1 when at least one relevant item is in the top k, else 0.
 * Every metric is NaN when R is empty (no relevant item to find: the harness leaves such a task out).
 */

/** Indices of candidates, as an array or a set. */
export type IndexSet = ReadonlySet<number> | readonly number[];

function asSet(indices: IndexSet | undefined): ReadonlySet<number> | undefined {
  if (indices === undefined) return undefined;
  return indices instanceof Set ? indices : new Set(indices as readonly number[]);
}

function checkK(k: number): void {
  if (!(Number.isInteger(k) && k > 0)) throw new RangeError(`k must be a positive integer, got ${k}`);
}

/**
 * The indices of the k highest scores, best first (fewer when fewer candidates are rankable).
 * `excluded` indices are skipped.
 */
export function topK(scores: ArrayLike<number>, k: number, excluded?: IndexSet): number[] {
  checkK(k);
  const skip = asSet(excluded);
  const idx = new Int32Array(k);
  const val = new Float64Array(k);
  let size = 0;
  const n = scores.length;
  for (let i = 0; i < n; i++) {
    const s = scores[i];
    // Strictly better than the current k-th only: an equal later score ranks after it. NaN fails.
    if (!(size < k ? s === s : s > val[size - 1])) continue;
    if (skip?.has(i)) continue;
    let at = size < k ? size++ : k - 1;
    while (at > 0 && s > val[at - 1]) {
      val[at] = val[at - 1];
      idx[at] = idx[at - 1];
      at--;
    }
    val[at] = s;
    idx[at] = i;
  }
  return Array.from(idx.subarray(0, size));
}

/** Recall@k, NDCG@k and HR@k of one ranking, from one top-k pass per distinct k. */
export interface RankingScores {
  recall: number;
  ndcg: number;
  hit: number;
}

/** The three metrics at their own cut-offs (P2: Recall@20, NDCG@20, HR@10) in one top-k pass. */
export function rankingScores(
  scores: ArrayLike<number>,
  relevantIdx: IndexSet,
  cutoffs: { recall: number; ndcg: number; hit: number },
  excluded?: IndexSet,
): RankingScores {
  const skip = asSet(excluded);
  const relevant = relevantSet(relevantIdx, skip);
  if (relevant.size === 0) return { recall: NaN, ndcg: NaN, hit: NaN };
  const top = topK(scores, Math.max(cutoffs.recall, cutoffs.ndcg, cutoffs.hit), skip);
  return {
    recall: recallOfTop(top, relevant, cutoffs.recall),
    ndcg: ndcgOfTop(top, relevant, cutoffs.ndcg),
    hit: hitOfTop(top, relevant, cutoffs.hit),
  };
}

/** Recall@k (see the module comment). */
export function recallAtK(
  scores: ArrayLike<number>,
  relevantIdx: IndexSet,
  k: number,
  excluded?: IndexSet,
): number {
  const skip = asSet(excluded);
  const relevant = relevantSet(relevantIdx, skip);
  return relevant.size === 0 ? NaN : recallOfTop(topK(scores, k, skip), relevant, k);
}

/** NDCG@k with binary gain (see the module comment). */
export function ndcgAtK(
  scores: ArrayLike<number>,
  relevantIdx: IndexSet,
  k: number,
  excluded?: IndexSet,
): number {
  const skip = asSet(excluded);
  const relevant = relevantSet(relevantIdx, skip);
  return relevant.size === 0 ? NaN : ndcgOfTop(topK(scores, k, skip), relevant, k);
}

/** HR@k: 1 when a relevant item is in the top k (see the module comment). */
export function hitAtK(
  scores: ArrayLike<number>,
  relevantIdx: IndexSet,
  k: number,
  excluded?: IndexSet,
): number {
  const skip = asSet(excluded);
  const relevant = relevantSet(relevantIdx, skip);
  return relevant.size === 0 ? NaN : hitOfTop(topK(scores, k, skip), relevant, k);
}

function relevantSet(relevantIdx: IndexSet, skip: ReadonlySet<number> | undefined): Set<number> {
  const out = new Set<number>();
  for (const i of relevantIdx) if (!skip?.has(i)) out.add(i);
  return out;
}

function recallOfTop(top: readonly number[], relevant: ReadonlySet<number>, k: number): number {
  checkK(k);
  let hits = 0;
  for (let r = 0; r < Math.min(k, top.length); r++) if (relevant.has(top[r])) hits++;
  return hits / Math.min(k, relevant.size);
}

function ndcgOfTop(top: readonly number[], relevant: ReadonlySet<number>, k: number): number {
  checkK(k);
  let dcg = 0;
  for (let r = 0; r < Math.min(k, top.length); r++) if (relevant.has(top[r])) dcg += 1 / Math.log2(r + 2);
  let idcg = 0;
  for (let r = 0; r < Math.min(k, relevant.size); r++) idcg += 1 / Math.log2(r + 2);
  return dcg / idcg;
}

function hitOfTop(top: readonly number[], relevant: ReadonlySet<number>, k: number): number {
  checkK(k);
  for (let r = 0; r < Math.min(k, top.length); r++) if (relevant.has(top[r])) return 1;
  return 0;
}
