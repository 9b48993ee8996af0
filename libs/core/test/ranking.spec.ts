import { auc, ndcgAtK, precisionAtK, recallAtK } from '../src';

describe('ranking metrics (hand-computed)', () => {
  // Predicted order: items 0, 1, 2, 3 with true ratings 3, 5, 1, 4.
  const pred = [0.9, 0.8, 0.7, 0.1];
  const truth = [3, 5, 1, 4];

  it('nDCG@k uses gain = rating and discount 1/log2(rank+1)', () => {
    const dcg = 3 / 1 + 5 / Math.log2(3) + 1 / 2;
    const idcg = 5 / 1 + 4 / Math.log2(3) + 3 / 2;
    expect(ndcgAtK(pred, truth, 3)).toBeCloseTo(dcg / idcg, 12);
    expect(ndcgAtK([4, 3, 2, 1], [5, 4, 3, 1], 3)).toBeCloseTo(1, 12);
    expect(ndcgAtK(pred, [0, 0, 0, 0], 2)).toBe(0);
  });

  it('precision and recall at k with a relevance threshold', () => {
    expect(precisionAtK(pred, truth, 2, 4)).toBeCloseTo(1 / 2, 12); // top 2: 3, 5
    expect(recallAtK(pred, truth, 2, 4)).toBeCloseTo(1 / 2, 12); // relevant: 5, 4
    expect(recallAtK(pred, truth, 4, 4)).toBe(1);
    expect(recallAtK(pred, [1, 1, 1, 1], 2, 4)).toBe(0);
  });

  it('AUC counts ordered positive/negative pairs, ties as one half', () => {
    // positives 0.9, 0.4; negatives 0.5, 0.1: pairs (0.9>0.5, 0.9>0.1, 0.4<0.5, 0.4>0.1) = 3/4
    expect(auc([0.9, 0.5, 0.4, 0.1], [1, 0, 1, 0])).toBeCloseTo(0.75, 12);
    expect(auc([0.5, 0.5], [1, 0])).toBeCloseTo(0.5, 12);
    expect(auc([0.1, 0.2], [1, 1])).toBeNaN();
  });

  it('rejects bad k and length mismatches', () => {
    expect(() => ndcgAtK([1], [1], 0)).toThrow(/k must be a positive integer/);
    expect(() => precisionAtK([1, 2], [1], 1, 4)).toThrow(/2 values but actual has 1/);
  });
});
