import { hitAtK, ndcgAtK, rankingScores, recallAtK, topK } from '../src/eval/ranking-metrics';
import { createRng } from '../src/util/rng';

describe('P2 ranking metrics (hand-computed)', () => {
  // Candidates 0..5 with scores; ranked: 3 (0.9), 1 (0.8), 5 (0.7), 0 (0.5), 4 (0.2), 2 (0.1).
  const scores = Float32Array.from([0.5, 0.8, 0.1, 0.9, 0.2, 0.7]);

  it('topK: descending, ties in candidate order, NaN never ranked, excluded skipped', () => {
    expect(topK(scores, 3)).toEqual([3, 1, 5]);
    expect(topK(scores, 10)).toEqual([3, 1, 5, 0, 4, 2]);
    expect(topK(scores, 3, [1])).toEqual([3, 5, 0]);
    expect(topK([1, 2, 2, NaN, 2], 3)).toEqual([1, 2, 4]);
    expect(topK([NaN, NaN], 2)).toEqual([]);
    expect(() => topK(scores, 0)).toThrow(/k must be a positive integer/);
  });

  it('topK matches a full sort on random data', () => {
    const rng = createRng(7);
    const s = Float32Array.from({ length: 5000 }, () => Math.round(rng() * 300) / 300);
    const excluded = new Set([10, 20, 30]);
    const expected = Array.from(s.keys())
      .filter((i) => !excluded.has(i))
      .sort((a, b) => s[b] - s[a] || a - b)
      .slice(0, 25);
    expect(topK(s, 25, excluded)).toEqual(expected);
  });

  it('recall@k divides by min(k, |relevant|)', () => {
    // relevant {1, 0}: top 2 = [3, 1] holds one of min(2, 2) -> 1/2
    expect(recallAtK(scores, [1, 0], 2)).toBeCloseTo(0.5);
    // relevant {1, 0, 2}, k 4: top 4 = [3, 1, 5, 0] holds 1 and 0 of min(4, 3) = 3 -> 2/3
    expect(recallAtK(scores, [1, 0, 2], 4)).toBeCloseTo(2 / 3);
    // relevant {1, 5, 0}, k 2: top 2 = [3, 1] -> 1 of min(2, 3) = 2 -> 1/2
    expect(recallAtK(scores, [1, 5, 0], 2)).toBeCloseTo(0.5);
    // excluding 3 (a support item): top 2 = [1, 5] -> both relevant -> 1
    expect(recallAtK(scores, [1, 5, 0], 2, [3])).toBeCloseTo(1);
  });

  it('NDCG@k with binary gain', () => {
    // relevant {1, 0}, k 4: ranks 1 and 3 (0-based) -> 1/log2(3) + 1/log2(5); ideal 1 + 1/log2(3)
    const dcg = 1 / Math.log2(3) + 1 / Math.log2(5);
    expect(ndcgAtK(scores, [1, 0], 4)).toBeCloseTo(dcg / (1 + 1 / Math.log2(3)), 10);
    // relevant {3}: first -> 1
    expect(ndcgAtK(scores, [3], 1)).toBe(1);
    // relevant {2} (last of six), k 5: not in the top 5 -> 0
    expect(ndcgAtK(scores, [2], 5)).toBe(0);
    // relevant {5, 0, 4, 2}, k 2: top 2 = [3, 1] -> 0
    expect(ndcgAtK(scores, [5, 0, 4, 2], 2)).toBe(0);
    // relevant {1, 5, 0, 4}, k 3: ranks 1, 2 -> (1/log2 3 + 1/log2 4) / (1 + 1/log2 3 + 1/log2 4)
    expect(ndcgAtK(scores, [1, 5, 0, 4], 3)).toBeCloseTo(
      (1 / Math.log2(3) + 0.5) / (1 + 1 / Math.log2(3) + 0.5),
      10,
    );
  });

  it('HR@k', () => {
    expect(hitAtK(scores, [0], 3)).toBe(0); // 0 is 4th
    expect(hitAtK(scores, [0], 4)).toBe(1);
    expect(hitAtK(scores, [0], 3, [3])).toBe(1); // 3 excluded: 0 moves up to 3rd
  });

  it('no relevant item (or only excluded ones): NaN', () => {
    expect(recallAtK(scores, [], 3)).toBeNaN();
    expect(ndcgAtK(scores, [3], 3, [3])).toBeNaN();
    expect(hitAtK(scores, new Set<number>(), 3)).toBeNaN();
  });

  it('rankingScores gives the three metrics at their own cut-offs in one pass', () => {
    const r = rankingScores(scores, [5, 4], { recall: 3, ndcg: 3, hit: 1 }, [3]);
    // excluding 3: ranked 1, 5, 0, 4, 2 -> top 3 = [1, 5, 0]
    expect(r.recall).toBeCloseTo(1 / 2); // 5 found of min(3, 2)
    expect(r.ndcg).toBeCloseTo(1 / Math.log2(3) / (1 + 1 / Math.log2(3)), 10);
    expect(r.hit).toBe(0); // top 1 = [1]
  });
});
