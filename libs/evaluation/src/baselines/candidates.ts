/**
 * Popularity as a tie-break for the neighbourhood rankers: scores s >= 0 become
 * s * (1 + TIE_RELATIVE * p) + TIE_ABSOLUTE * p with p in [0, 1] the candidate's log-popularity
 * scaled by the most popular item's. Equal scores (candidates no support item reaches, or items
 * with the same genres) are then ordered by popularity instead of catalog order, and scores that
 * differ by more than TIE_RELATIVE of their size keep their order. Relative, because an absolute
 * nudge below every real similarity would vanish in Float32 next to a score of a few units.
 */
export const TIE_RELATIVE = 1e-5;
export const TIE_ABSOLUTE = 1e-9;

/** Each candidate's index in a model's item index (-1: an item the model has no row for). */
export function candidateItems(
  candidates: readonly string[],
  itemIndex: ReadonlyMap<string, number>,
): Int32Array {
  return Int32Array.from(candidates, (id) => itemIndex.get(id) ?? -1);
}

/** The inverse: each model item's position among the candidates (-1: not a candidate). */
export function candidatePositions(items: number, candidateItem: Int32Array): Int32Array {
  const pos = new Int32Array(items).fill(-1);
  candidateItem.forEach((i, p) => {
    if (i >= 0) pos[i] = p;
  });
  return pos;
}

/** Each candidate's log-popularity scaled to [0, 1] (`count` of a model item; 0 for an unknown one). */
export function popularityShares(
  candidateItem: Int32Array,
  count: (item: number) => number,
  maxCount: number,
): Float32Array {
  const scale = maxCount > 0 ? 1 / Math.log1p(maxCount) : 0;
  return Float32Array.from(candidateItem, (i) => (i >= 0 ? scale * Math.log1p(count(i)) : 0));
}

/** Applies the popularity tie-break (see TIE_RELATIVE) to non-negative `scores` in place. */
export function breakTies(scores: Float32Array, shares: Float32Array): Float32Array {
  for (let c = 0; c < scores.length; c++) {
    const p = shares[c];
    scores[c] = scores[c] * (1 + TIE_RELATIVE * p) + TIE_ABSOLUTE * p;
  }
  return scores;
}
