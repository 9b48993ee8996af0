/**
 * A rating model's ranker (model/ranker.ts): attached with checks, adapted on the support as
 * interactions, saved and loaded inside the rating model's artifact (pinned by checksum), and
 * disposed with it.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  adapt,
  ArtifactError,
  attachRanker,
  buildNegativePool,
  createModel,
  initBackend,
  loadModel,
  rankerEvidence,
  rankingModel,
  rankingSupport,
  readManifest,
  saveModel,
  score,
  setRankerEvidenceMin,
  ValidationError,
} from '../src';
import { makeWorld, rewriteManifest } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(6, 10, 16, 8);
const itemIds = world.items.map((i) => i.id);

const ratingModel = () =>
  createModel(world.spec, { embeddingDim: 3, hidden: [6], localGroups: ['output'], bayesHead: true });
function implicitModel() {
  const m = createModel(world.spec, {
    task: 'implicit',
    embeddingDim: 3,
    hidden: [6],
    localGroups: ['output'],
    idEmbeddings: { itemIds: itemIds.slice(0, 12), dim: 2 },
    negatives: { perPositive: 2, distribution: 'uniform' },
    bayesHead: true,
    catalogFoldIn: true,
    seed: 3,
  });
  buildNegativePool(m, world.tasks, world.catalog);
  return m;
}

/** Scores of the world's first user on every item, adapted on its support as the ranker sees it. */
function rankingScores(model: ReturnType<typeof ratingModel>): Float32Array {
  const ranker = rankingModel(model);
  const task = world.tasks[0];
  const adapted = adapt(
    ranker,
    [{ user: task.user, support: rankingSupport(model, task.support) }],
    world.catalog,
  );
  const items = ranker.encodeItems(world.items);
  try {
    return score(adapted, 0, items);
  } finally {
    adapted.dispose();
    items.dispose();
  }
}

describe('rankers', () => {
  it('attaches an implicit ranker to a rating model only, once', () => {
    const model = ratingModel();
    const ranker = implicitModel();
    expect(rankingModel(model)).toBe(model);
    expect(() => attachRanker(model, ratingModel())).toThrow(/ranker: must be an implicit model/);
    expect(() => attachRanker(model, model)).toThrow(ValidationError);
    expect(() => attachRanker(ranker, implicitModel())).toThrow(/for rating models/);
    attachRanker(model, ranker);
    expect(rankingModel(model)).toBe(ranker);
    expect(() => attachRanker(model, implicitModel())).toThrow(/already has a ranker/);
    model.dispose();
  });

  it('hands the ranker the support as interactions; without a ranker the support is unchanged', () => {
    const model = ratingModel();
    const support = [
      { itemId: 'i1', value: 4 },
      { itemId: 'i2', value: 1 },
    ];
    expect(rankingSupport(model, support)).toEqual(support);
    attachRanker(model, implicitModel());
    expect(rankingSupport(model, support)).toEqual([
      { itemId: 'i1', value: 1 },
      { itemId: 'i2', value: 1 },
    ]);
    expect(support[0].value).toBe(4); // not mutated
    model.dispose();
  });

  it('takes new items’ evidence as interactions: every rating positive, or the liked ones from a set minimum', () => {
    const model = ratingModel();
    const evidence = [
      { itemId: 'n1', value: 5, userId: 'u1' },
      { itemId: 'n1', value: 2, userId: 'u2' },
      { itemId: 'n2', value: 4, userId: 'u1' },
    ];
    expect(() => setRankerEvidenceMin(model, 4)).toThrow(/has no ranker/);
    attachRanker(model, implicitModel());
    expect(rankerEvidence(model, evidence).map((r) => [r.itemId, r.value, r.userId])).toEqual([
      ['n1', 1, 'u1'],
      ['n1', 1, 'u2'],
      ['n2', 1, 'u1'],
    ]);
    // With a minimum: the liked ratings positive, the others negative.
    setRankerEvidenceMin(model, 4);
    expect(rankerEvidence(model, evidence).map((r) => [r.itemId, r.value, r.userId])).toEqual([
      ['n1', 1, 'u1'],
      ['n1', 0, 'u2'],
      ['n2', 1, 'u1'],
    ]);
    expect(rankerEvidence(model, evidence, 5).map((r) => r.value)).toEqual([1, 0, 0]);
    expect(rankerEvidence(model, evidence, null).map((r) => r.value)).toEqual([1, 1, 1]);
    expect(evidence[0]!.value).toBe(5); // not mutated
    expect(() => setRankerEvidenceMin(model, NaN)).toThrow(
      expect.objectContaining({ field: 'rankerEvidenceMin' }),
    );
    setRankerEvidenceMin(model, null);
    expect(model.rankerEvidenceMin).toBeNull();
    model.dispose();
  });

  it('keeps the ranker evidence minimum in the artifact, and refuses one without a ranker', async () => {
    const root = mkdtempSync(join(tmpdir(), 'warmstart-ranker-'));
    try {
      const model = ratingModel();
      attachRanker(model, implicitModel());
      setRankerEvidenceMin(model, 3.8);
      await saveModel(model, join(root, 'm'));
      model.dispose();
      expect((await readManifest(join(root, 'm'))).rankerEvidenceMin).toBe(3.8);
      const loaded = await loadModel(join(root, 'm'));
      expect(loaded.rankerEvidenceMin).toBe(3.8);
      loaded.dispose();
      const plain = ratingModel();
      await saveModel(plain, join(root, 'plain'));
      plain.dispose();
      expect((await readManifest(join(root, 'plain'))).rankerEvidenceMin).toBeUndefined();
      rewriteManifest(join(root, 'plain'), (m) => (m.rankerEvidenceMin = 4));
      await expect(loadModel(join(root, 'plain'))).rejects.toMatchObject({
        field: 'manifest.rankerEvidenceMin',
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('is saved and loaded with the rating model, scores unchanged, and freed with it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'warmstart-ranker-'));
    try {
      const before = tf.memory().numTensors;
      const model = ratingModel();
      attachRanker(model, implicitModel());
      const expected = rankingScores(model);
      await saveModel(model, join(root, 'm'));
      model.dispose();
      expect(tf.memory().numTensors).toBe(before);
      const manifest = await readManifest(join(root, 'm'));
      expect(manifest.ranker).toBe('ranker');
      expect(manifest.files['ranker/manifest.json'].sha256).toMatch(/^[0-9a-f]{64}$/);
      const loaded = await loadModel(join(root, 'm'));
      expect(loaded.ranker?.config.task).toBe('implicit');
      expect(Array.from(rankingScores(loaded))).toEqual(Array.from(expected));
      loaded.dispose();
      expect(tf.memory().numTensors).toBe(before);
      // Without a ranker, no sub-directory and no key.
      const plain = ratingModel();
      await saveModel(plain, join(root, 'plain'));
      plain.dispose();
      expect((await readManifest(join(root, 'plain'))).ranker).toBeUndefined();
      expect((await loadModel(join(root, 'plain'))).ranker).toBeNull();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("refuses an artifact whose ranker manifest does not match its parent's checksum, leaking nothing", async () => {
    const root = mkdtempSync(join(tmpdir(), 'warmstart-ranker-'));
    try {
      const model = ratingModel();
      attachRanker(model, implicitModel());
      await saveModel(model, join(root, 'm'));
      model.dispose();
      const before = tf.memory().numTensors;
      // Swap in another (valid) ranker artifact: its manifest differs from the pinned one.
      const other = implicitModel();
      await saveModel(other, join(root, 'm', 'ranker'), {}, { overwrite: true });
      other.dispose();
      await expect(loadModel(join(root, 'm'))).rejects.toThrow(ArtifactError);
      await expect(loadModel(join(root, 'm'))).rejects.toThrow(/ranker\/manifest\.json/);
      writeFileSync(join(root, 'm', 'ranker', 'manifest.json'), '{');
      await expect(loadModel(join(root, 'm'))).rejects.toThrow(/ranker\/manifest\.json/);
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
