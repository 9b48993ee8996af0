/**
 * The catalog fold-in of implicit feedback: the head shift against a float64 reference (padded
 * rows ignored, a shared catalog row equal to per-user copies), k = 0 returning the prior,
 * gradients through the solve against finite differences (support and catalog features, prior
 * precision, catalog weight, lift), the evidence growth of the lift, adapt (batched equals one at
 * a time, positives only, seeded, the growth from adaptDefaults or the call),
 * meta-training that improves held-out ranking, config validation and artifacts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  adapt,
  buildNegativePool,
  createModel,
  FeatureSpec,
  initBackend,
  loadModel,
  metaTrain,
  saveModel,
  scaleFoldInLift,
  score,
  ValidationError,
  type ModelConfig,
} from '../src';
import { catalogFoldInDelta, catalogGram, SHARED_GRAM_CHUNK } from '../src/model/catalog-fold-in';
import { sharedCatalogGram, uniformCatalogSample } from '../src/negatives/catalog-sample';
import { Rng } from '../src/rng';
import { DECL, expectNoTensorGrowth, makeWorld, rewriteManifest, solveDense } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

/** Float64 reference for one user: (D + X^T X + w mean_i z_i z_i^T)^-1 X^T (m y). */
function reference(
  rows: number[][],
  y: number[],
  mask: number[],
  catalog: number[][],
  d: number[],
  w: number,
  lift: number,
  growth = 0,
): number[] {
  const dim = d.length;
  const x = rows.map((r, s) => (mask[s] ? [...r, 1] : new Array<number>(dim).fill(0)));
  const z = catalog.map((r) => [...r, 1]);
  const a = d.map((di, i) =>
    d.map((_, j) => {
      let v = i === j ? di : 0;
      for (const row of x) v += row[i] * row[j];
      let g = 0;
      for (const row of z) g += row[i] * row[j];
      return v + (w * g) / z.length;
    }),
  );
  const n = mask.reduce((a, v) => a + v, 0);
  const m = lift * (1 + growth * n);
  const b = d.map((_, i) => x.reduce((sum, row, s) => sum + row[i] * m * y[s] * mask[s], 0));
  return solveDense(a, b);
}

describe('catalogFoldInDelta', () => {
  const rng = new Rng(5);
  const [b, s, h, m] = [3, 4, 3, 7];
  const support = Array.from({ length: b * s * h }, () => rng.normal());
  const y = Array.from({ length: b * s }, () => 1);
  const mask = Array.from({ length: b * s }, (_, i) => Number(i % s < 1 + Math.floor(i / s))); // 1, 2, 3 rows
  const catalog = Array.from({ length: m * h }, () => rng.normal());
  const d = Array.from({ length: h + 1 }, () => 0.5 + rng.next());
  const [w, lift] = [4, 1.5];

  function run(cat: tf.Tensor3D, growth = 0) {
    return catalogFoldInDelta(
      tf.tensor3d(support, [b, s, h]),
      tf.tensor2d(y, [b, s]),
      tf.tensor2d(mask, [b, s]),
      catalogGram(cat),
      tf.tensor1d(d),
      tf.scalar(Math.log(w)),
      tf.scalar(Math.log(lift)),
      growth,
    );
  }

  it('equals the float64 solution, padded rows ignored, a shared catalog the same as per-user copies', () => {
    const shared = run(tf.tensor3d(catalog, [1, m, h]));
    const copies = run(tf.tensor3d([...catalog, ...catalog, ...catalog], [b, m, h]));
    const catRows = Array.from({ length: m }, (_, i) => catalog.slice(i * h, (i + 1) * h));
    for (let u = 0; u < b; u++) {
      const rows = Array.from({ length: s }, (_, j) => support.slice((u * s + j) * h, (u * s + j + 1) * h));
      const want = reference(
        rows,
        y.slice(u * s, (u + 1) * s),
        mask.slice(u * s, (u + 1) * s),
        catRows,
        d,
        w,
        lift,
      );
      for (const got of [shared, copies]) {
        const dw = got.dw.arraySync()[u].map((r) => r[0]);
        const db = got.db.arraySync()[u][0];
        [...dw, db].forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
      }
    }
  });

  it('with an evidence growth g lifts a user with n interactions by m (1 + g n), the float64 solution', () => {
    const growth = 0.7;
    const got = run(tf.tensor3d(catalog, [1, m, h]), growth);
    const flat = run(tf.tensor3d(catalog, [1, m, h]));
    const catRows = Array.from({ length: m }, (_, i) => catalog.slice(i * h, (i + 1) * h));
    for (let u = 0; u < b; u++) {
      const rows = Array.from({ length: s }, (_, j) => support.slice((u * s + j) * h, (u * s + j + 1) * h));
      const userMask = mask.slice(u * s, (u + 1) * s);
      const want = reference(rows, y.slice(u * s, (u + 1) * s), userMask, catRows, d, w, lift, growth);
      const dw = got.dw.arraySync()[u].map((r) => r[0]);
      [...dw, got.db.arraySync()[u][0]].forEach((v, i) => expect(v).toBeCloseTo(want[i], 4));
      // The users have 1, 2 and 3 interactions: each one's shift is the constant lift's times 1 + g n.
      const n = userMask.reduce((a, v) => a + v, 0);
      const base = flat.dw.arraySync()[u].map((r) => r[0]);
      dw.forEach((v, i) => expect(v).toBeCloseTo(base[i] * (1 + growth * n), 4));
    }
  });

  it('with k = 0 returns the prior (no shift)', () => {
    const out = catalogFoldInDelta(
      tf.tensor3d(support, [b, s, h]),
      tf.tensor2d(y, [b, s]),
      tf.zeros([b, s]) as tf.Tensor2D,
      catalogGram(tf.tensor3d(catalog, [1, m, h])),
      tf.tensor1d(d),
      tf.scalar(Math.log(w)),
      tf.scalar(Math.log(lift)),
    );
    expect(Array.from(out.dw.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(out.db.dataSync()).every((v) => v === 0)).toBe(true);
  });

  it('has the gradient of its finite differences in every input (with an evidence growth)', () => {
    const q = tf.tensor3d(
      Array.from({ length: b * 2 * h }, () => rng.normal()),
      [b, 2, h],
    );
    // A scalar of every output: the shifted head's scores at a few query rows, squared.
    const objective = (sup: tf.Tensor, cat: tf.Tensor, dd: tf.Tensor, lw: tf.Tensor, ll: tf.Tensor) => {
      const { dw, db } = catalogFoldInDelta(
        sup as tf.Tensor3D,
        tf.tensor2d(y, [b, s]),
        tf.tensor2d(mask, [b, s]),
        catalogGram(cat as tf.Tensor3D),
        dd as tf.Tensor1D,
        lw,
        ll,
        0.4,
      );
      const out = tf.add(tf.squeeze(tf.matMul(q, dw), [2]), db);
      return tf.sum(tf.square(tf.sub(out, 0.3)));
    };
    const inputs = [
      tf.tensor3d(support, [b, s, h]),
      tf.tensor3d(catalog, [1, m, h]),
      tf.tensor1d(d),
      tf.scalar(Math.log(w)),
      tf.scalar(Math.log(lift)),
    ];
    const grads = tf.grads((a, c, e, f, g) => objective(a, c, e, f, g))(inputs);
    const eps = 1e-2;
    inputs.forEach((x, k) => {
      const base = Array.from(x.dataSync());
      const g = grads[k].dataSync();
      const dir = base.map(() => rng.normal());
      const at = (sign: number) =>
        tf.tidy(() => {
          const moved = inputs.map((t, j) =>
            j === k
              ? tf.tensor(
                  base.map((v, i) => v + sign * eps * dir[i]),
                  t.shape,
                )
              : t,
          );
          return objective(moved[0], moved[1], moved[2], moved[3], moved[4]).dataSync()[0];
        });
      const fd = (at(1) - at(-1)) / (2 * eps);
      const analytic = dir.reduce((sum, v, i) => sum + v * g[i], 0);
      expect(Math.abs(analytic - fd)).toBeLessThan(0.02 * Math.abs(fd) + 2e-3);
    });
    tf.dispose([...inputs, ...grads, q]);
  });
});

describe('uniformCatalogSample', () => {
  it('draws distinct ids, the same from the same seed, all of a small pool', () => {
    const world = makeWorld(8, 40, 60, 21);
    const m = createModel(world.spec, foldInConfig());
    buildNegativePool(m, world.tasks, world.catalog);
    const pool = m.negativePool!;
    const a = uniformCatalogSample(pool, 10, new Rng(1));
    expect(new Set(a).size).toBe(10);
    expect(a.every((id) => pool.ids.includes(id))).toBe(true);
    expect(uniformCatalogSample(pool, 10, new Rng(1))).toEqual(a);
    expect(uniformCatalogSample(pool, 10, new Rng(2))).not.toEqual(a);
    expect(uniformCatalogSample(pool, pool.size + 5, new Rng(1))).toEqual([...pool.ids]);
    m.dispose();
  });
});

function foldInConfig(extra: Partial<ModelConfig> = {}): Partial<ModelConfig> {
  return {
    task: 'implicit',
    negatives: { perPositive: 3, distribution: 'uniform' },
    embeddingDim: 4,
    hidden: [8, 6],
    localGroups: ['output'],
    bayesHead: true,
    catalogFoldIn: true,
    seed: 7,
    ...extra,
  };
}

describe('a model with the catalog fold-in', () => {
  const world = makeWorld(10, 40, 60, 30);
  // Implicit tasks: every rating of 4 or more is an interaction.
  const tasks = world.tasks
    .map((t) => ({
      user: t.user,
      support: t.support.filter((r) => r.value >= 4).map((r) => ({ itemId: r.itemId, value: 1 })),
      query: t.query.filter((r) => r.value >= 4).map((r) => ({ itemId: r.itemId, value: 1 })),
    }))
    .filter((t) => t.support.length > 0 && t.query.length > 0);

  function heldOutAuc(m: ReturnType<typeof createModel>): number {
    const items = m.encodeItems(world.items);
    const adapted = adapt(m, tasks, world.catalog);
    let sum = 0;
    tasks.forEach((t, u) => {
      const sc = score(adapted, u, items);
      const seen = new Set(t.support.map((r) => r.itemId));
      const pos = new Set(t.query.map((r) => r.itemId));
      let wins = 0;
      let pairs = 0;
      world.items.forEach((a, i) => {
        if (!pos.has(a.id)) return;
        world.items.forEach((c, j) => {
          if (seen.has(c.id) || pos.has(c.id)) return;
          pairs += 1;
          wins += sc[i] > sc[j] ? 1 : sc[i] === sc[j] ? 0.5 : 0;
        });
      });
      sum += wins / pairs;
    });
    adapted.dispose();
    items.dispose();
    return sum / tasks.length;
  }

  it('is refused where it does not apply, naming the field', () => {
    expect(() => createModel(world.spec, foldInConfig({ bayesHead: false }))).toThrow(
      /config\.catalogFoldIn/,
    );
    expect(() => createModel(world.spec, { ...foldInConfig(), task: 'rating', negatives: null })).toThrow(
      ValidationError,
    );
  });

  it('meta-trains its weights through the solve, ranks held-out positives better, and is seeded', async () => {
    const train = async (seed: number) => {
      const m = createModel(world.spec, foldInConfig());
      buildNegativePool(m, tasks, world.catalog);
      const before = heldOutAuc(m);
      const lift0 = m.params['prior.logLift'].dataSync()[0];
      await metaTrain(m, tasks, world.catalog, {
        algorithm: 'anil',
        epochs: 10,
        metaBatchSize: 8,
        outerLr: 0.02,
        seed,
      });
      return { m, before, lift0 };
    };
    const { m, before, lift0 } = await train(1);
    expect(m.params['prior.logLift'].dataSync()[0]).not.toBe(lift0);
    const after = heldOutAuc(m);
    expect(after).toBeGreaterThan(before + 0.03);
    expect(after).toBeGreaterThan(0.6);
    const again = await train(1);
    expect(Array.from(again.m.params['dec.0.w'].dataSync())).toEqual(
      Array.from(m.params['dec.0.w'].dataSync()),
    );
    again.m.dispose();
    m.dispose();
  });

  it('adapts on positives only, batched as one at a time, without growing memory; k = 0 is the prior', async () => {
    const m = createModel(world.spec, foldInConfig());
    buildNegativePool(m, tasks, world.catalog);
    await metaTrain(m, tasks, world.catalog, { algorithm: 'anil', epochs: 2, metaBatchSize: 8, seed: 2 });
    const items = m.encodeItems(world.items);
    const requests = tasks.slice(0, 4);
    const batched = adapt(m, requests, world.catalog);
    requests.forEach((r, i) => {
      const one = adapt(m, [r], world.catalog);
      const a = score(batched, i, items);
      const b = score(one, 0, items);
      a.forEach((v, j) => expect(v).toBeCloseTo(b[j], 4));
      one.dispose();
    });
    // One interaction lifts its item above the prior's score (x^T A^-1 x m > 0); none is the prior.
    const first = requests[0].support[0];
    const prior = adapt(m, [{ user: requests[0].user, support: [] }], world.catalog);
    const one = adapt(m, [{ user: requests[0].user, support: [first] }], world.catalog);
    const idx = world.items.findIndex((it) => it.id === first.itemId);
    expect(score(one, 0, items)[idx]).toBeGreaterThan(score(prior, 0, items)[idx]);
    expect(prior.local['out.w'].dataSync()).toEqual(m.params['out.w'].dataSync());
    one.dispose();
    prior.dispose();
    batched.dispose();
    expectNoTensorGrowth(() => adapt(m, requests, world.catalog).dispose());
    items.dispose();
    m.dispose();
  });

  it('adapts with the evidence growth of its adaptDefaults or of the call, refusing a negative one', async () => {
    const m = createModel(world.spec, foldInConfig());
    buildNegativePool(m, tasks, world.catalog);
    await metaTrain(m, tasks, world.catalog, { algorithm: 'anil', epochs: 1, metaBatchSize: 8, seed: 4 });
    const request = tasks[0];
    const n = request.support.length;
    const shift = (a: ReturnType<typeof adapt>) =>
      Array.from(a.local['out.w'].dataSync()).map((v, i) => v - m.params['out.w'].dataSync()[i]);
    const flat = adapt(m, [request], world.catalog);
    const byCall = adapt(m, [request], world.catalog, { evidenceGrowth: 0.5 });
    m.adaptDefaults = { ...m.adaptDefaults, evidenceGrowth: 0.5 };
    const byDefault = adapt(m, [request], world.catalog);
    const base = shift(flat);
    for (const a of [byCall, byDefault])
      shift(a).forEach((v, i) => expect(v).toBeCloseTo(base[i] * (1 + 0.5 * n), 4));
    expect(() => adapt(m, [request], world.catalog, { evidenceGrowth: -1 })).toThrow(
      /options.evidenceGrowth/,
    );
    [flat, byCall, byDefault].forEach((a) => a.dispose());
    m.dispose();
  });

  it('scaleFoldInLift scales a user’s head shift by its factor, refusing what is not a lift', async () => {
    const m = createModel(world.spec, foldInConfig());
    buildNegativePool(m, tasks, world.catalog);
    const shift = (a: ReturnType<typeof adapt>) =>
      Array.from(a.local['out.w'].dataSync()).map((v, i) => v - m.params['out.w'].dataSync()[i]);
    const before = adapt(m, [tasks[0]], world.catalog);
    const version = m.version;
    scaleFoldInLift(m, 0.3);
    expect(m.version).not.toBe(version);
    const after = adapt(m, [tasks[0]], world.catalog);
    const base = shift(before);
    expect(base.some((v) => Math.abs(v) > 1e-3)).toBe(true);
    shift(after).forEach((v, i) => expect(v).toBeCloseTo(0.3 * base[i], 5));
    expect(() => scaleFoldInLift(m, 0)).toThrow(/factor/);
    const plain = createModel(world.spec, foldInConfig({ catalogFoldIn: false }));
    expect(() => scaleFoldInLift(plain, 0.5)).toThrow(/catalog fold-in/);
    [before, after, m, plain].forEach((x) => x.dispose());
  });

  it('round-trips through artifacts and adapts the same after loading', async () => {
    const m = createModel(world.spec, foldInConfig());
    buildNegativePool(m, tasks, world.catalog);
    await metaTrain(m, tasks, world.catalog, { algorithm: 'anil', epochs: 1, metaBatchSize: 8, seed: 3 });
    m.adaptDefaults = { ...m.adaptDefaults, evidenceGrowth: 0.3 };
    const dir = mkdtempSync(join(tmpdir(), 'ws-foldin-'));
    try {
      await saveModel(m, join(dir, 'm'));
      const loaded = await loadModel(join(dir, 'm'));
      expect(loaded.config.catalogFoldIn).toBe(true);
      expect(loaded.adaptDefaults.evidenceGrowth).toBe(0.3);
      // Artifacts written before the setting load with a constant lift; a negative one is refused.
      rewriteManifest(join(dir, 'm'), (manifest) => delete manifest.adaptDefaults.evidenceGrowth);
      const older = await loadModel(join(dir, 'm'));
      expect(older.adaptDefaults.evidenceGrowth ?? 0).toBe(0);
      older.dispose();
      rewriteManifest(join(dir, 'm'), (manifest) => (manifest.adaptDefaults.evidenceGrowth = -1));
      await expect(loadModel(join(dir, 'm'))).rejects.toMatchObject({
        field: 'manifest.adaptDefaults.evidenceGrowth',
      });
      const items = [m.encodeItems(world.items), loaded.encodeItems(world.items)];
      const a = adapt(m, tasks.slice(0, 3), world.catalog);
      const b = adapt(loaded, tasks.slice(0, 3), world.catalog);
      for (let u = 0; u < 3; u++) {
        const sa = score(a, u, items[0]);
        const sb = score(b, u, items[1]);
        sa.forEach((v, j) => expect(v).toBeCloseTo(sb[j], 5));
      }
      a.dispose();
      b.dispose();
      items.forEach((i) => i.dispose());
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
      m.dispose();
    }
  });
});

/** A world without user features (the trunk ignores the user), every rating an interaction. */
function userFreeWorld(seed: number, users: number, items: number, perUser: number) {
  const world = makeWorld(seed, users, items, perUser);
  const spec = FeatureSpec.fromData({ user: [], item: DECL.item }, world.users, world.items);
  const tasks = world.tasks.map((t) => ({
    user: t.user,
    support: t.support.map((r) => ({ itemId: r.itemId, value: 1 })),
    query: t.query.map((r) => ({ itemId: r.itemId, value: 1 })),
  }));
  return { world, spec, tasks };
}

describe('a fold-in model whose trunk ignores the user', () => {
  it('computes the catalog Gram matrix once per model version and adapts as after a fresh load', async () => {
    const { world, spec, tasks } = userFreeWorld(12, 30, 40, 24);
    const m = createModel(spec, {
      ...foldInConfig(),
      idEmbeddings: { itemIds: world.items.map((i) => i.id) },
    });
    buildNegativePool(m, tasks, world.catalog);
    const items = m.encodeItems(world.items);
    const scores = () => {
      const a = adapt(m, tasks.slice(0, 3), world.catalog);
      const out = [0, 1, 2].map((u) => Array.from(score(a, u, items)));
      a.dispose();
      return out;
    };
    const first = scores();
    const cached = m.derived.get('catalogFoldIn.gram')!;
    expect(cached.version).toBe(m.version);
    expect(scores()).toEqual(first);
    expect(m.derived.get('catalogFoldIn.gram')!.tensor).toBe(cached.tensor);
    // The trunk changes: the Gram matrix is recomputed, and matches a model loaded afresh.
    await metaTrain(m, tasks, world.catalog, { algorithm: 'anil', epochs: 1, metaBatchSize: 8, seed: 4 });
    items.dispose();
    const again = m.encodeItems(world.items);
    const a = adapt(m, tasks.slice(0, 3), world.catalog);
    expect(cached.tensor.isDisposed).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'ws-foldin-shared-'));
    try {
      await saveModel(m, join(dir, 'm'));
      const loaded = await loadModel(join(dir, 'm'));
      const b = adapt(loaded, tasks.slice(0, 3), world.catalog);
      const li = loaded.encodeItems(world.items);
      for (let u = 0; u < 3; u++) {
        const sa = score(a, u, again);
        const sb = score(b, u, li);
        sa.forEach((v, j) => expect(v).toBeCloseTo(sb[j], 5));
      }
      expect(Array.from(score(a, 0, again))).not.toEqual(first[0]);
      b.dispose();
      li.dispose();
      loaded.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    a.dispose();
    again.dispose();
    m.dispose();
    expect(m.derived.size).toBe(0);
  });

  it('accumulates the Gram matrix of a sample larger than one chunk as the mean over all of it', () => {
    const { world, spec, tasks } = userFreeWorld(13, 20, 40, 20);
    const m = createModel(spec, foldInConfig());
    buildNegativePool(m, tasks, world.catalog);
    const distinct = m.negativePool!.ids.slice(0, 30);
    // Two chunks of all 30 ids, then a tail of the first 10 alone: chunks differ in what they
    // hold and in size, so weighting chunks rather than rows would show.
    const reps = Math.ceil((2 * SHARED_GRAM_CHUNK) / distinct.length);
    const tail = 300;
    const head = Array.from({ length: reps }, () => distinct).flat();
    const long = [...head, ...Array.from({ length: tail }, () => distinct.slice(0, 10)).flat()];
    expect(long.length).toBeGreaterThan(2 * SHARED_GRAM_CHUNK);
    // Each Gram matrix computed afresh (the cached one dropped and disposed).
    const gramOf = (ids: readonly string[]) => {
      const g = sharedCatalogGram(m, ids, world.catalog);
      const v = g.arraySync()[0];
      g.dispose();
      m.derived.clear();
      return v;
    };
    const chunked = gramOf(long);
    const reversed = gramOf(long.slice().reverse()); // other chunk boundaries, the same mean
    const once = gramOf(distinct);
    const extra = gramOf(distinct.slice(0, 10));
    // The mean over `long`, row by row.
    const n = long.length;
    chunked.forEach((row, i) =>
      row.forEach((v, j) => {
        expect(v).toBeCloseTo((head.length * once[i][j] + tail * 10 * extra[i][j]) / n, 4);
        expect(v).toBeCloseTo(reversed[i][j], 4);
      }),
    );
    m.dispose();
  });
});
