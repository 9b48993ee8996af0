import { mae, rmse } from '../src';

describe('regression metrics', () => {
  it('computes MAE and RMSE on a hand-computed case', () => {
    // errors: 1, -2, 0, 3 -> MAE 6/4, RMSE sqrt(14/4)
    expect(mae([2, 1, 3, 7], [1, 3, 3, 4])).toBeCloseTo(1.5, 12);
    expect(rmse([2, 1, 3, 7], [1, 3, 3, 4])).toBeCloseTo(Math.sqrt(3.5), 12);
  });

  it('rejects mismatched or empty inputs', () => {
    expect(() => mae([1], [1, 2])).toThrow(/1 values but actual has 2/);
    expect(() => rmse([], [])).toThrow(/at least one value/);
  });
});
