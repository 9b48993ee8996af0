import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  adapt,
  ArtifactError,
  createModel,
  initBackend,
  loadModel,
  metaTrain,
  readManifest,
  saveModel,
  score,
} from '../src';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('artifacts', () => {
  const world = makeWorld(5, 12, 20, 8);
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'warmstart-core-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  async function trained() {
    const model = createModel(world.spec, {
      embeddingDim: 3,
      hidden: [6],
      idEmbeddings: { itemIds: world.items.slice(0, 8).map((i) => i.id), dim: 2 },
    });
    await metaTrain(model, world.tasks, world.catalog, {
      algorithm: 'meta-sgd',
      metaBatchSize: 4,
      innerSteps: 1,
    });
    return model;
  }

  it('round-trips a model: same manifest facts, same predictions', async () => {
    const model = await trained();
    const dir = join(root, 'm1');
    await saveModel(model, dir, {
      watermark: '2024-01-02T00:00:00Z',
      metrics: { mae: 0.8 },
      labels: { id: 'm1' },
    });
    expect(readdirSync(root)).toEqual(['m1']); // no temporary directory left behind
    const m = await readManifest(dir);
    expect(m.formatVersion).toBe(1);
    expect(m.metrics).toEqual({ mae: 0.8 });
    expect(m.watermark).toBe('2024-01-02T00:00:00.000Z');
    expect(m.training?.algorithm).toBe('meta-sgd');
    expect(m.files['weights.bin'].sha256).toMatch(/^[0-9a-f]{64}$/);
    const loaded = await loadModel(dir);
    const predict = (mdl: typeof model) => {
      const a = adapt(mdl, world.tasks.slice(0, 2), world.catalog);
      const enc = mdl.encodeItems(world.items);
      const p = score(a, 1, enc);
      a.dispose();
      enc.dispose();
      return Array.from(p);
    };
    expect(predict(loaded)).toEqual(predict(model));
    expect(loaded.globalMean).toBeCloseTo(model.globalMean, 6);
    expect(Object.keys(loaded.innerLrs ?? {})).toEqual(Object.keys(model.innerLrs ?? {}));
    await expect(saveModel(model, dir)).rejects.toThrow(/already exists/);
    await saveModel(model, dir, {}, { overwrite: true });
    model.dispose();
    loaded.dispose();
  });

  it('rejects corrupt and truncated artifacts without creating tensors', async () => {
    const model = await trained();
    const dir = join(root, 'm2');
    await saveModel(model, dir);
    model.dispose();
    const before = tf.memory().numTensors;
    const bin = join(dir, 'weights.bin');
    const bytes = readFileSync(bin);
    bytes[10] ^= 0xff;
    writeFileSync(bin, bytes);
    await expect(loadModel(dir)).rejects.toThrow(/weights\.bin checksum mismatch \(corrupt\)/);
    truncateSync(bin, 100);
    await expect(loadModel(dir)).rejects.toThrow(
      /weights\.bin is 100 bytes, manifest says \d+ \(truncated\?\)/,
    );
    const manifest = join(dir, 'manifest.json');
    writeFileSync(manifest, readFileSync(manifest, 'utf8').slice(0, 50));
    await expect(loadModel(dir)).rejects.toThrow(ArtifactError);
    await expect(loadModel(join(root, 'missing'))).rejects.toThrow(/manifest\.json is missing/);
    expect(tf.memory().numTensors).toBe(before);
  });
});
