/**
 * Models on data without features on one or both sides (IDs and biases only): build, initialise
 * biases, meta-train, adapt (steps and ridge), score, score in batches, warm items up, save and
 * load. An entity declared with no fields encodes as one constant column.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adapt,
  createModel,
  encodeRows,
  FeatureSpec,
  initBackend,
  initItemBiases,
  loadModel,
  metaTrain,
  saveModel,
  score,
  scoreBatch,
  warmUpItems,
  type FeatureSpecDecl,
  type ModelConfig,
} from '../src';
import { DECL, makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(11, 16, 24, 12);
const warmIds = world.items.slice(0, 18).map((i) => i.id);

const SIDES: [string, FeatureSpecDecl][] = [
  ['no user features', { user: [], item: DECL.item }],
  ['no item features', { user: DECL.user, item: [] }],
  ['no features at all', { user: [], item: [] }],
];

const CONFIGS: [string, Partial<ModelConfig>, { ridge?: number; steps?: number }][] = [
  ['melu with IDs', { idEmbeddings: { itemIds: warmIds } }, { steps: 2 }],
  ['anil ridge with IDs', { localGroups: ['output'], idEmbeddings: { itemIds: warmIds } }, { ridge: 3 }],
  ['anil without IDs', { localGroups: ['output'], userBiasShrinkage: 1 }, { steps: 2 }],
];

describe('encoding an entity without fields', () => {
  it('is one constant column', () => {
    const spec = FeatureSpec.fromData({ user: [], item: [] }, world.users, world.items);
    expect(Array.from(encodeRows(spec.item, world.items.slice(0, 3)))).toEqual([1, 1, 1]);
  });
});

describe.each(SIDES)('%s', (_side, decl) => {
  const spec = FeatureSpec.fromData(decl, world.users, world.items);

  it.each(CONFIGS)('%s: trains, adapts, scores, warms items up and round-trips', async (_n, config, how) => {
    const model = createModel(spec, { embeddingDim: 4, hidden: [8, 6], seed: 2, ...config });
    const root = mkdtempSync(join(tmpdir(), 'warmstart-nofeat-'));
    try {
      await initItemBiases(model, world.tasks, { items: world.catalog });
      const result = await metaTrain(model, world.tasks, world.catalog, {
        algorithm: config.localGroups?.[0] === 'output' ? 'anil' : 'melu',
        innerSteps: 2,
        innerLr: 0.05,
        ...(how.ridge && { innerRidge: how.ridge }),
        epochs: 3,
        metaBatchSize: 4,
        outerLr: 0.01,
      });
      expect(result.lossHistory.every(Number.isFinite)).toBe(true);
      expect(result.epochLoss[result.epochLoss.length - 1]).toBeLessThan(result.epochLoss[0]);

      const requests = world.tasks
        .slice(0, 4)
        .map((t, i) => ({ user: t.user, support: t.support.slice(0, i * 2) }));
      const items = model.encodeItems(world.items);
      const adapted = adapt(model, requests, world.catalog, how);
      const one = score(adapted, 1, items);
      expect(one).toHaveLength(world.items.length);
      expect(one.every(Number.isFinite)).toBe(true);
      const batch = scoreBatch(adapted, [0, 1, 2, 3], items);
      one.forEach((v, j) => expect(batch[world.items.length + j]).toBeCloseTo(v, 4));
      // The user with support differs from the one without: adaptation acts without features too.
      const none = score(adapted, 0, items);
      expect(Math.max(...Array.from(one, (v, j) => Math.abs(v - none[j])))).toBeGreaterThan(1e-4);

      if (model.layout.idDim > 0) {
        const fresh = world.items[20];
        const rows = warmUpItems(model, [
          { item: fresh, interactions: world.users.slice(0, 3).map((user) => ({ user, value: 5 })) },
        ]);
        const warmed = model.encodeItems([fresh], { warmItems: rows });
        const cold = model.encodeItems([fresh]);
        expect(score(adapted, 0, warmed)[0]).toBeGreaterThan(score(adapted, 0, cold)[0]);
        warmed.dispose();
        cold.dispose();
      }

      await saveModel(model, join(root, 'm'));
      const loaded = await loadModel(join(root, 'm'));
      const again = adapt(loaded, requests, world.catalog, how);
      const loadedItems = loaded.encodeItems(world.items);
      score(again, 1, loadedItems).forEach((v, j) => expect(v).toBeCloseTo(one[j], 5));
      again.dispose();
      loadedItems.dispose();
      loaded.dispose();
      adapted.dispose();
      items.dispose();
    } finally {
      model.dispose();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
