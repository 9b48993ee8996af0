/**
 * Ranking metrics exactly as P1 defines them. Ties in the prediction keep the query order, which is
 * itself seeded-random, so a constant predictor gets a random-order score rather than a lucky one.
 */
function rankByPrediction(predicted: ArrayLike<number>): number[] {
  const idx = Array.from({ length: predicted.length }, (_, i) => i);
  return idx.sort((a, b) => predicted[b] - predicted[a] || a - b);
}

/** nDCG@k: gain = true rating, discount 1/log2(rank+1), normalised by the ideal order. */
export function ndcgAt(k: number, predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (predicted.length !== actual.length) throw new RangeError('predicted and actual differ in length');
  const order = rankByPrediction(predicted);
  const ideal = Array.from(actual).sort((a, b) => b - a);
  let dcg = 0;
  let idcg = 0;
  for (let r = 0; r < Math.min(k, order.length); r++) {
    const discount = 1 / Math.log2(r + 2);
    dcg += actual[order[r]] * discount;
    idcg += ideal[r] * discount;
  }
  return idcg > 0 ? dcg / idcg : 0;
}

/** P@k: share of the top k by prediction whose true rating is relevant (>= threshold). */
export function precisionAt(
  k: number,
  predicted: ArrayLike<number>,
  actual: ArrayLike<number>,
  threshold = 4,
): number {
  if (predicted.length !== actual.length) throw new RangeError('predicted and actual differ in length');
  const top = rankByPrediction(predicted).slice(0, k);
  if (top.length === 0) return 0;
  return top.filter((i) => actual[i] >= threshold).length / top.length;
}
