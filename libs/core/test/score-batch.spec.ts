/**
 * scoreBatch (several users of one adapted batch on the same items in one computation) must give
 * what score() gives user by user, for the shared-trunk (ANIL) path and the per-user fallback.
 */
import {
  adapt,
  ANIL_LOCAL_GROUPS,
  createModel,
  initBackend,
  score,
  scoreBatch,
  type AdaptRequest,
  type ModelConfig,
} from '../src';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld();

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(tol);
}

const configs: [string, Partial<ModelConfig>][] = [
  ['anil rating', { localGroups: ANIL_LOCAL_GROUPS }],
  ['anil implicit', { localGroups: ANIL_LOCAL_GROUPS, task: 'implicit' }],
  ['melu (per-user fallback)', {}],
];

describe('scoreBatch', () => {
  for (const [name, config] of configs) {
    it(`equals score() per user: ${name}`, () => {
      const model = createModel(world.spec, { embeddingDim: 4, hidden: [8, 6], seed: 5, ...config });
      // Distinct features, repeated features (shared trunk pass) and featureless users.
      const requests: AdaptRequest[] = world.tasks
        .slice(0, 5)
        .map((t) => ({ user: t.user, support: t.support }));
      requests.push({ user: { ...world.tasks[0].user, id: 'twin' }, support: world.tasks[6].support });
      requests.push({ user: { id: 'anon1', features: {} }, support: world.tasks[7].support });
      requests.push({ user: { id: 'anon2', features: {} }, support: world.tasks[8].support });
      requests.push({ user: { id: 'anon3', features: {} }, support: [] });
      const adapted = adapt(model, requests, world.catalog);
      const items = model.encodeItems(world.items);
      try {
        const order = [8, 0, 5, 2, 7, 6, 1, 3, 4, 0];
        const batch = scoreBatch(adapted, order, items);
        expect(batch).toHaveLength(order.length * items.size);
        order.forEach((u, j) =>
          expectClose(batch.subarray(j * items.size, (j + 1) * items.size), score(adapted, u, items)),
        );
        expect(scoreBatch(adapted, [], items)).toHaveLength(0);
        expect(() => scoreBatch(adapted, [0, requests.length], items)).toThrow(/userIndices\[1\]/);
      } finally {
        items.dispose();
        adapted.dispose();
      }
      const again = model.encodeItems(world.items);
      expect(() => scoreBatch(adapted, [0], again)).toThrow(/disposed/);
      again.dispose();
      model.dispose();
    });
  }
});
