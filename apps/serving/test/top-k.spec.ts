import { topK } from '../src/recommend/top-k';
import { protoFieldPath } from '../src/grpc/errors';

describe('topK', () => {
  it('matches a full sort on random scores, honouring skips', () => {
    let seed = 3;
    const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const scores = Float32Array.from({ length: 500 }, rand);
    const skip = (i: number) => i % 7 === 0;
    const expected = [...scores.keys()]
      .filter((i) => !skip(i))
      .sort((a, b) => (scores[b] as number) - (scores[a] as number))
      .slice(0, 10);
    expect(topK(scores, 10, skip).map((r) => r.index)).toEqual(expected);
  });

  it('returns fewer than k when there are fewer candidates', () => {
    expect(topK([0.5, 0.9], 5).map((r) => r.index)).toEqual([1, 0]);
  });
});

describe('protoFieldPath', () => {
  it('renames TypeScript field names to proto names, leaving indices and other names alone', () => {
    expect(protoFieldPath('interactions[3].itemId')).toBe('interactions[3].item_id');
    expect(protoFieldPath('items[0].availableAt')).toBe('items[0].available_at');
    expect(protoFieldPath('users[1].features')).toBe('users[1].features');
  });
});
