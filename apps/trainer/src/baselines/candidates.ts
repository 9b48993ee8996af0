/**
 * Scores below every real similarity (cosines of co-occurrence are at least 1/users): added to a
 * neighbourhood score, popularity only orders the candidates that no support item reaches, instead
 * of leaving them in catalog order.
 */
export const TIE_BREAK = 1e-9;

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

/** TIE_BREAK x log-popularity, scaled to [0, TIE_BREAK], per candidate (`count(-1)` is 0). */
export function popularityTieBreak(
  candidateItem: Int32Array,
  count: (item: number) => number,
  maxCount: number,
): Float32Array {
  const scale = maxCount > 0 ? TIE_BREAK / Math.log1p(maxCount) : 0;
  return Float32Array.from(candidateItem, (i) => (i >= 0 ? scale * Math.log1p(count(i)) : 0));
}
