import { GlobalMean } from '../src/baselines/global-mean';
import { ItemBias } from '../src/baselines/item-bias';
import { UserItemBias } from '../src/baselines/user-item-bias';
import { itemCatalog, type Rating, type Task } from '../src/data/types';

// Items g* are genre "good" (rated 5 by everyone), b* genre "bad" (rated 2).
const items = itemCatalog([
  ...['g1', 'g2', 'g3', 'gNew'].map((id) => ({ id, features: { genres: ['good'] } })),
  ...['b1', 'b2', 'b3', 'bNew'].map((id) => ({ id, features: { genres: ['bad'] } })),
]);
const r = (itemId: string, value: number): Rating => ({ itemId, value });
const task = (id: string, support: Rating[], query: Rating[]): Task => ({
  user: { id, features: {} },
  support,
  query,
});
const train = Array.from({ length: 6 }, (_, k) =>
  task(`u${k}`, [r('g1', 5), r('b1', 2), r('g2', 5)], [r('b2', 2), r('g3', 5), r('b3', 2)]),
);
const validation = [task('v', [r('g1', 5)], [r('b1', 2), r('g2', 5)])];
const ctx = {
  train,
  validation,
  items,
  users: [],
  seed: 0,
  kind: 'explicit' as const,
  scale: [1, 5] as [number, number],
};

describe('baselines', () => {
  it('global mean predicts the mean training rating', async () => {
    const m = new GlobalMean();
    await m.fit(ctx);
    const [pred] = await m.predict([task('x', [], [r('g1', 5)])], items);
    expect(pred[0]).toBeCloseTo(3.5);
  });

  it('item bias scores unseen items through the genre regression', async () => {
    const m = new ItemBias();
    await m.fit(ctx);
    const [pred] = await m.predict(
      [task('x', [], [r('g1', 5), r('b1', 2), r('gNew', 5), r('bNew', 2)])],
      items,
    );
    expect(pred[0]).toBeGreaterThan(4.5);
    expect(pred[1]).toBeLessThan(2.5);
    expect(pred[2]).toBeGreaterThan(pred[3] + 1); // unseen: good genre above bad genre
  });

  it('user-item bias shifts predictions by the support-set residual', async () => {
    const m = new UserItemBias();
    await m.fit(ctx);
    const harsh = task('h', [r('g1', 4), r('b1', 1), r('g2', 4)], [r('b2', 1), r('g3', 4)]);
    const [pred] = await m.predict([harsh], items);
    const itemOnly = new ItemBias();
    await itemOnly.fit(ctx);
    const [plain] = await itemOnly.predict([harsh], items);
    // this user rates one star below everyone else
    expect(plain[0] - pred[0]).toBeGreaterThan(0.5);
    expect(plain[1] - pred[1]).toBeGreaterThan(0.5);
    expect(pred[1]).toBeGreaterThan(pred[0]);
  });
});
