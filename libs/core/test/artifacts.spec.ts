import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
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
import { makeWorld, rewriteManifest, type ManifestJSON } from './fixtures';

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
    expect(m.formatVersion).toBe(2);
    expect(readdirSync(dir).sort()).toEqual(['ids.json', 'manifest.json', 'manifest.sha256', 'weights.bin']);
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

  describe('validation before any tensor exists', () => {
    // One trained Meta-SGD artifact (rates lr/* for the local decision and output layers), copied per case.
    let source: string;
    let sourceRoot: string;
    beforeAll(async () => {
      sourceRoot = mkdtempSync(join(tmpdir(), 'warmstart-core-src-'));
      source = join(sourceRoot, 'src');
      const model = await trained();
      await saveModel(model, source);
      model.dispose();
    });
    afterAll(() => rmSync(sourceRoot, { recursive: true, force: true }));

    function copy(): string {
      const dir = join(root, `a${readdirSync(root).length}`);
      cpSync(source, dir, { recursive: true });
      return dir;
    }

    /** Loads `dir` expecting an ArtifactError with this field and message, and no tensor left behind. */
    async function expectRejected(dir: string, field: string, message: RegExp): Promise<void> {
      const before = tf.memory();
      const err = await loadModel(dir).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ArtifactError);
      expect((err as ArtifactError).field).toBe(field);
      expect((err as Error).message).toMatch(message);
      expect(tf.memory().numTensors).toBe(before.numTensors);
      expect(tf.memory().numBytes).toBe(before.numBytes);
    }

    const missing: [string, (m: ManifestJSON) => void, string, RegExp][] = [
      [
        'config.localGroups',
        (m) => delete m.config.localGroups,
        'manifest.config.localGroups',
        /manifest\.config\.localGroups is missing/,
      ],
      ['config', (m) => delete m.config, 'manifest.config', /manifest\.config is missing/],
      ['config.hidden', (m) => (m.config.hidden = [6, 'x']), 'manifest.config.hidden', /positive integers/],
      ['spec width', (m) => (m.spec.item[0].width += 1), 'manifest.spec.item[0].width', /must be \d+/],
      ['globalMean', (m) => delete m.globalMean, 'manifest.globalMean', /finite number/],
      ['adaptDefaults.steps', (m) => (m.adaptDefaults.steps = -1), 'manifest.adaptDefaults.steps', /integer/],
      ['weights', (m) => delete m.weights, 'manifest.weights', /must be an array/],
      ['weight length', (m) => (m.weights[0].length += 1), 'manifest.weights[0].length', /size of its shape/],
      ['files', (m) => delete m.files['ids.json'], 'manifest.files["ids.json"]', /no checksum/],
      ['labels', (m) => (m.labels = { a: 1 }), 'manifest.labels', /strings/],
    ];
    for (const [what, edit, field, message] of missing) {
      it(`names a missing or bad manifest field: ${what}`, async () => {
        const dir = copy();
        rewriteManifest(dir, edit);
        await expectRejected(dir, field, message);
      });
    }

    it('checks Meta-SGD rates against the parameter shapes', async () => {
      const swapShape = (name: string) => (m: ManifestJSON) => {
        const w = m.weights.find((x: { name: string }) => x.name === name);
        w.shape = [...w.shape].reverse(); // same length, so only the shape check can catch it
      };
      let dir = copy();
      rewriteManifest(dir, swapShape('lr/out.w'));
      await expectRejected(dir, 'weights.lr/out.w', /has shape \[1,6\], expected \[6,1\]/);
      // A rate for a global parameter, and a missing rate.
      dir = copy();
      rewriteManifest(dir, (m) => {
        m.weights.find((x: { name: string }) => x.name === 'lr/out.b').name = 'lr/emb.itemBias';
      });
      await expectRejected(dir, 'weights.lr/emb.itemBias', /shape|not adapted per user/);
      dir = copy();
      rewriteManifest(dir, (m) => {
        m.weights = m.weights.filter((x: { name: string }) => x.name !== 'lr/dec.0.b');
      });
      await expectRejected(dir, 'weights.lr/dec.0.b', /is missing/);
      // And the parameters themselves: a wrong shape and an unknown name.
      dir = copy();
      rewriteManifest(dir, swapShape('dec.0.w'));
      await expectRejected(dir, 'weights.dec.0.w', /expected/);
      dir = copy();
      rewriteManifest(dir, (m) => (m.weights[0].name = 'emb.user.nope'));
      await expectRejected(dir, 'weights.emb.user.nope', /not a parameter/);
    });

    it('detects a tampered or unsigned manifest (format 2), and still loads format-1 artifacts', async () => {
      let dir = copy();
      const file = join(dir, 'manifest.json');
      // A plausible edit that every structural check accepts: only the checksum can catch it.
      writeFileSync(file, readFileSync(file, 'utf8').replace(/"globalMean": [^,]+,/, '"globalMean": 3.25,'));
      await expectRejected(dir, 'manifest.sha256', /manifest\.json checksum mismatch/);
      rmSync(join(dir, 'manifest.sha256'));
      await expectRejected(dir, 'manifest.sha256', /manifest\.sha256 is missing/);
      dir = copy();
      rewriteManifest(dir, (m) => (m.formatVersion = 3));
      await expectRejected(dir, 'manifest.formatVersion', /format version 3 is not supported \(1, 2\)/);
      // An artifact of the previous format (no checksum file) loads as before.
      dir = copy();
      rewriteManifest(dir, () => undefined, { version1: true });
      const old = await loadModel(dir);
      const current = await loadModel(source);
      expect(old.snapshot()).toEqual(current.snapshot());
      old.dispose();
      current.dispose();
    });

    it('disposes what it created when creating a tensor fails part way', async () => {
      const dir = copy();
      const engine = tf.engine();
      const make = engine.makeVariable.bind(engine);
      // Fail on the first Meta-SGD rate: every parameter variable exists by then.
      const spy = jest.spyOn(engine, 'makeVariable').mockImplementation((value, trainable, name, dtype) => {
        if (name?.includes('/lr/')) throw new Error('simulated allocation failure');
        return make(value, trainable, name, dtype);
      });
      try {
        await expectRejected(
          dir,
          'weights',
          /could not create the model's tensors \(simulated allocation failure\)/,
        );
        expect(spy.mock.calls.filter(([, , name]) => !name?.includes('/lr/')).length).toBeGreaterThan(5);
      } finally {
        spy.mockRestore();
      }
      const model = await loadModel(dir); // and nothing registered stays behind to clash
      model.dispose();
    });
  });
});
