export interface Ranked {
  index: number;
  score: number;
}

/**
 * Indices of the k highest scores, best first, skipping `skip(index)`; O(n log k) with a small
 * sorted buffer, which beats sorting all n candidates when k << n. `skip` is only called for
 * candidates whose score would enter the current top k.
 */
export function topK(scores: ArrayLike<number>, k: number, skip?: (index: number) => boolean): Ranked[] {
  const best: Ranked[] = [];
  for (let i = 0; i < scores.length; i++) {
    const score = scores[i] as number;
    if (best.length === k && score <= (best[k - 1] as Ranked).score) continue;
    // Tested only for scores that would enter the top k (most candidates stop above).
    if (skip?.(i)) continue;
    let lo = 0;
    let hi = best.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((best[mid] as Ranked).score >= score) lo = mid + 1;
      else hi = mid;
    }
    best.splice(lo, 0, { index: i, score });
    if (best.length > k) best.pop();
  }
  return best;
}
