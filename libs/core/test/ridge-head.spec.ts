/**
 * Closed-form ridge adaptation of the output head: the batched SPD solver, the ridge solution
 * against a float64 reference (dual and primal forms, padding), `adapt` and `metaTrain` options,
 * and artifacts. (Its meta-gradients are checked against finite differences in gradients.spec.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
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
  saveModel,
  score,
  ValidationError,
  type ModelConfig,
} from '../src';
import { ridgeHeadDelta } from '../src/model/ridge-head';
import { solveSpd } from '../src/model/spd-solve';
import { Rng } from '../src/rng';
import { expectNoTensorGrowth, makeWorld, rewriteManifest, solveDense } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(5, 12, 24, 12);

function anil(extra: Partial<ModelConfig> = {}) {
  return createModel(world.spec, {
    embeddingDim: 3,
    hidden: [6, 4],
    seed: 3,
    localGroups: ['output'],
    userBiasShrinkage: 2,
    ...extra,
  });
}

describe('solveSpd', () => {
  it('solves a batch of SPD systems with several right-hand sides', () => {
    const rng = new Rng(1);
    const [b, d, k] = [3, 5, 2];
    const m = tf.tensor3d(
      Array.from({ length: b * d * d }, () => rng.normal()),
      [b, d, d],
    );
    const a = tf.add(tf.matMul(m, m, true, false), tf.mul(tf.eye(d), 0.5)) as tf.Tensor3D;
    const rhs = tf.tensor3d(
      Array.from({ length: b * d * k }, () => rng.normal()),
      [b, d, k],
    );
    const x = solveSpd(a, rhs);
    const back = tf.matMul(a, x).dataSync();
    rhs.dataSync().forEach((v, i) => expect(back[i]).toBeCloseTo(v, 3));
    tf.dispose([m, a, rhs, x]);
  });

  it('rejects a matrix that is not positive definite, and mismatched shapes', () => {
    const a = tf.tensor3d([1, 2, 2, 1], [1, 2, 2]); // eigenvalues 3 and -1
    const b = tf.ones([1, 2, 1]) as tf.Tensor3D;
    expect(() => solveSpd(a, b)).toThrow(/not positive definite/);
    expect(() => solveSpd(a, tf.ones([1, 3, 1]) as tf.Tensor3D)).toThrow(/do not match/);
    tf.dispose([a, b]);
  });
});

describe('ridgeHeadDelta', () => {
  /** argmin sum_s mask (r - [h, 1] . delta)^2 + lambda |delta|^2 in float64, per user. */
  function expected(f: number[][][], r: number[][], mask: number[][], lambda: number): number[][] {
    return f.map((rows, u) => {
      const d = rows[0].length + 1;
      const a = Array.from({ length: d }, (_, i) =>
        Array.from({ length: d }, (_, j) => (i === j ? lambda : 0)),
      );
      const rhs = new Array<number>(d).fill(0);
      rows.forEach((h, s) => {
        if (!mask[u][s]) return;
        const x = [...h, 1];
        for (let i = 0; i < d; i++) {
          rhs[i] += x[i] * r[u][s];
          for (let j = 0; j < d; j++) a[i][j] += x[i] * x[j];
        }
      });
      return solveDense(a, rhs);
    });
  }

  // S = 3 < H + 1 = 5 takes the dual form; S = 8 >= 5 the primal one.
  for (const s of [3, 8]) {
    it(`equals the ridge regression solution with padded rows ignored (support ${s})`, () => {
      const rng = new Rng(s);
      const [b, h, lambda] = [3, 4, 0.7];
      const f = Array.from({ length: b }, () =>
        Array.from({ length: s }, () => Array.from({ length: h }, () => rng.normal())),
      );
      const r = Array.from({ length: b }, () => Array.from({ length: s }, () => rng.normal()));
      // User 1 has its last row padded (its feature and residual values must not matter), user 2 none.
      const mask = [new Array(s).fill(1), [...new Array(s - 1).fill(1), 0], new Array(s).fill(0)];
      const { dw, db } = ridgeHeadDelta(tf.tensor3d(f), tf.tensor2d(r), tf.tensor2d(mask), lambda);
      const want = expected(f, r, mask, lambda);
      const w = dw.arraySync();
      const bias = db.arraySync();
      for (let u = 0; u < b; u++) {
        for (let i = 0; i < h; i++) expect(w[u][i][0]).toBeCloseTo(want[u][i], 4);
        expect(bias[u][0]).toBeCloseTo(want[u][h], 4);
      }
      expect(want[2].every((v) => v === 0)).toBe(true); // empty support: no change
      expect(Math.abs(want[0][0])).toBeGreaterThan(1e-3); // and a real one moves
      tf.dispose([dw, db]);
    });
  }

  it('shrinks to no change as the penalty grows', () => {
    const rng = new Rng(9);
    const f = tf.tensor3d(
      Array.from({ length: 2 * 6 * 3 }, () => rng.normal()),
      [2, 6, 3],
    );
    const r = tf.tensor2d(
      Array.from({ length: 12 }, () => rng.normal()),
      [2, 6],
    );
    const mask = tf.ones([2, 6]) as tf.Tensor2D;
    const size = (lambda: number) =>
      tf.tidy(() => tf.sum(tf.abs(ridgeHeadDelta(f, r, mask, lambda).dw)).dataSync()[0]);
    expect(size(1e4)).toBeLessThan(size(1) / 100);
    expect(() => ridgeHeadDelta(f, r, mask, 0)).toThrow(/> 0/);
    tf.dispose([f, r, mask]);
  });
});

describe('adapt with the ridge head', () => {
  const requests = world.tasks
    .slice(0, 5)
    .map((t, i) => ({ user: t.user, support: t.support.slice(0, [6, 2, 0, 6, 4][i]) }));

  it('gives the same predictions batched as one user at a time', () => {
    const m = anil();
    const items = m.encodeItems(world.items);
    const batched = adapt(m, requests, world.catalog, { ridge: 1 });
    requests.forEach((req, i) => {
      const one = adapt(m, [req], world.catalog, { ridge: 1 });
      const a = score(batched, i, items);
      const b = score(one, 0, items);
      a.forEach((v, j) => expect(v).toBeCloseTo(b[j], 4));
      one.dispose();
    });
    batched.dispose();
    items.dispose();
    m.dispose();
  });

  it('fits the support set better than the meta-learned head, and uses the model default', () => {
    const m = anil();
    const supportError = (ridge: number | null) => {
      const a = adapt(m, requests.slice(0, 1), world.catalog, { ridge, steps: 0 });
      const enc = m.encodeItems(requests[0].support.map((r) => world.catalog.get(r.itemId)!));
      const pred = score(a, 0, enc);
      a.dispose();
      enc.dispose();
      return requests[0].support.reduce((s, r, i) => s + (r.value - pred[i]) ** 2, 0);
    };
    expect(supportError(0.1)).toBeLessThan(supportError(null) * 0.8);
    m.adaptDefaults = { ...m.adaptDefaults, ridge: 0.1 };
    expect(supportError(null)).not.toBeCloseTo(supportError(0.1), 4); // null forces gradient steps
    const byDefault = adapt(m, requests.slice(0, 1), world.catalog);
    const explicit = adapt(m, requests.slice(0, 1), world.catalog, { ridge: 0.1 });
    expect(Array.from(byDefault.local['out.w'].dataSync())).toEqual(
      Array.from(explicit.local['out.w'].dataSync()),
    );
    byDefault.dispose();
    explicit.dispose();
    m.dispose();
  });

  it('does not grow tensor memory across repeated calls', () => {
    const m = anil();
    const items = m.encodeItems(world.items);
    expectNoTensorGrowth(() => {
      const a = adapt(m, requests, world.catalog, { ridge: 1 });
      score(a, 0, items);
      a.dispose();
    });
    items.dispose();
    m.dispose();
  });

  it('is refused with a named field for models that adapt more than the head, and for bad penalties', () => {
    const melu = anil({ localGroups: ['decision', 'output'] });
    expect(() => adapt(melu, requests, world.catalog, { ridge: 1 })).toThrow(ValidationError);
    expect(() => adapt(melu, requests, world.catalog, { ridge: 1 })).toThrow(/options\.ridge/);
    melu.dispose();
    const m = anil();
    for (const ridge of [0, -1, NaN, Infinity]) {
      expect(() => adapt(m, requests, world.catalog, { ridge })).toThrow(/options\.ridge/);
    }
    m.dispose();
  });
});

describe('metaTrain with innerRidge', () => {
  it('trains through the solve, lowers the loss and makes ridge the serving default', async () => {
    const m = anil();
    const result = await metaTrain(m, world.tasks, world.catalog, {
      algorithm: 'anil',
      innerRidge: 1,
      epochs: 6,
      metaBatchSize: 6,
      outerLr: 0.01,
    });
    expect(result.epochLoss[result.epochLoss.length - 1]).toBeLessThan(result.epochLoss[0]);
    expect(m.adaptDefaults.ridge).toBe(1);
    expect(m.training?.innerRidge).toBe(1);
    m.dispose();
  });

  it('rejects a ridge penalty for non-head models and bad values, naming the option', async () => {
    const m = anil();
    await expect(
      metaTrain(m, world.tasks, world.catalog, { algorithm: 'melu', innerRidge: 1 }),
    ).rejects.toThrow(/options\.innerRidge/);
    await expect(
      metaTrain(m, world.tasks, world.catalog, { algorithm: 'anil', innerRidge: 0 }),
    ).rejects.toThrow(/options\.innerRidge/);
    m.dispose();
  });
});

describe('artifacts', () => {
  it('keep the ridge default, load older artifacts without it, and reject it on a non-head model', async () => {
    const root = mkdtempSync(join(tmpdir(), 'warmstart-ridge-'));
    try {
      const m = anil();
      m.adaptDefaults = { steps: 5, lr: 0.1, ridge: 3 };
      await saveModel(m, join(root, 'a'));
      const a = await loadModel(join(root, 'a'));
      expect(a.adaptDefaults.ridge).toBe(3);
      a.dispose();
      // A format-1 artifact from before the ridge default (and before the manifest checksum).
      rewriteManifest(join(root, 'a'), (manifest) => delete manifest.adaptDefaults.ridge, { version1: true });
      const old = await loadModel(join(root, 'a'));
      expect(old.adaptDefaults.ridge ?? null).toBeNull();
      old.dispose();
      rewriteManifest(join(root, 'a'), (manifest) => {
        manifest.adaptDefaults.ridge = 3;
        manifest.config.localGroups = ['decision', 'output'];
      });
      await expect(loadModel(join(root, 'a'))).rejects.toThrow(ArtifactError);
      m.dispose();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
