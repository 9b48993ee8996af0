/**
 * Ranking metrics over one list of items with predicted scores and true values. Items are ranked
 * by descending prediction; ties keep input order (stable sort), so results are deterministic.
 */

function rankByPrediction(predicted: ArrayLike<number>, actual: ArrayLike<number>): number[] {
  if (predicted.length !== actual.length) {
    throw new RangeError(`predicted has ${predicted.length} values but actual has ${actual.length}`);
  }
  const order = Array.from({ length: predicted.length }, (_, i) => i);
  return order.sort((a, b) => predicted[b] - predicted[a] || a - b);
}

function checkK(k: number): void {
  if (!(Number.isInteger(k) && k > 0)) throw new RangeError(`k must be a positive integer, got ${k}`);
}

/**
 * nDCG@k with gain = true value (e.g. the rating) and discount 1/log2(rank + 1), normalised by the
 * ideal ordering. Returns 0 when every gain is 0.
 */
export function ndcgAtK(predicted: ArrayLike<number>, actual: ArrayLike<number>, k: number): number {
  checkK(k);
  const order = rankByPrediction(predicted, actual);
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

/** Fraction of the top k (by prediction) whose true value is >= `threshold` (divides by k). */
export function precisionAtK(
  predicted: ArrayLike<number>,
  actual: ArrayLike<number>,
  k: number,
  threshold: number,
): number {
  checkK(k);
  const order = rankByPrediction(predicted, actual);
  let hits = 0;
  for (let r = 0; r < Math.min(k, order.length); r++) if (actual[order[r]] >= threshold) hits++;
  return hits / k;
}

/** Fraction of the relevant items (true value >= `threshold`) found in the top k; 0 when none is relevant. */
export function recallAtK(
  predicted: ArrayLike<number>,
  actual: ArrayLike<number>,
  k: number,
  threshold: number,
): number {
  checkK(k);
  const order = rankByPrediction(predicted, actual);
  let relevant = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] >= threshold) relevant++;
  if (relevant === 0) return 0;
  let hits = 0;
  for (let r = 0; r < Math.min(k, order.length); r++) if (actual[order[r]] >= threshold) hits++;
  return hits / relevant;
}

/**
 * Area under the ROC curve of scores against binary labels (label > 0 is positive): the probability
 * that a random positive outscores a random negative, ties counting one half. NaN when either class
 * is empty.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  if (scores.length !== labels.length) {
    throw new RangeError(`scores has ${scores.length} values but labels has ${labels.length}`);
  }
  const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  // Mann-Whitney U with average ranks for ties.
  let rankSumPos = 0;
  let pos = 0;
  for (let i = 0; i < idx.length;) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]] === scores[idx[i]]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) {
      if (labels[idx[t]] > 0) {
        rankSumPos += avgRank;
        pos++;
      }
    }
    i = j + 1;
  }
  const neg = idx.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSumPos - (pos * (pos + 1)) / 2) / (pos * neg);
}
