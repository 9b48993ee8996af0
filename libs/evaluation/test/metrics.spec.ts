import { scenarioMetrics } from '../src/eval/task-metrics';

const task = (values: number[]) => ({
  user: { id: 'u', features: {} },
  support: [],
  query: values.map((v, i) => ({ itemId: `i${i}`, value: v })),
});

describe('P1 scenario metrics', () => {
  it('gives nDCG@3 = 1 for the ideal order and the textbook value otherwise', () => {
    expect(scenarioMetrics([task([5, 4, 3, 1])], [[5, 4, 3, 2]]).ndcg3).toBeCloseTo(1);
    // predicted order: items 3,2,1 with gains 1,3,4; ideal gains 5,4,3
    const dcg = 1 / 1 + 3 / Math.log2(3) + 4 / 2;
    const idcg = 5 + 4 / Math.log2(3) + 3 / 2;
    expect(scenarioMetrics([task([5, 4, 3, 1])], [[1, 2, 3, 4]]).ndcg3).toBeCloseTo(dcg / idcg);
  });

  it('counts ratings >= 4 among the top 5 for P@5', () => {
    expect(scenarioMetrics([task([4, 5, 1, 2, 3, 5])], [[9, 8, 7, 6, 5, 4]]).p5).toBeCloseTo(2 / 5);
  });

  it('averages MAE over queries and nDCG over tasks', () => {
    const m = scenarioMetrics([task([1, 5]), task([3, 3])], [Float32Array.of(2, 5), Float32Array.of(3, 5)]);
    expect(m.mae).toBeCloseTo((1 + 0 + 0 + 2) / 4);
    expect(m.rmse).toBeCloseTo(Math.sqrt((1 + 4) / 4));
    expect(m.tasks).toBe(2);
  });
});
