/**
 * The Bayesian last layer (ALPaCA-style): the posterior against a float64 reference in both forms
 * (with padded rows), the predictive variance, k = 0 returning the prior, the ridge head as the
 * special case of a scalar precision and unit noise, gradients through the solve against finite
 * differences (trunk features, prior precision, noise), adapt (batched equals one at a time,
 * predictive variances), meta-training through the posterior, and artifacts. The meta-gradient
 * of the whole objective is checked against finite differences in gradients.spec.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  adapt,
  bayesHeadPosterior,
  createModel,
  gaussianNll,
  initBackend,
  loadModel,
  metaTrain,
  predictiveVariance,
  saveModel,
  score,
  scoreBatch,
  ValidationError,
  type ModelConfig,
} from '../src';
import { ridgeHeadDelta } from '../src/model/ridge-head';
import { Rng } from '../src/rng';
import { expectNoTensorGrowth, makeWorld, solveDense } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(5, 24, 30, 14);

function bayes(extra: Partial<ModelConfig> = {}) {
  return createModel(world.spec, {
    embeddingDim: 3,
    hidden: [6, 4],
    seed: 3,
    localGroups: ['output'],
    bayesHead: true,
    ...extra,
  });
}

/**
 * Float64 reference for one user: G = D + X^T X over the unmasked rows [h, 1]; the posterior mean
 * shift G^-1 X^T r and, per query row z, noise * (z G^-1 z^T + 1).
 */
function reference(
  rows: number[][],
  r: number[],
  mask: number[],
  d: number[],
  noise: number,
  query: number[][],
): { delta: number[]; variance: number[] } {
  const dim = d.length;
  const g = Array.from({ length: dim }, (_, i) =>
    Array.from({ length: dim }, (_, j) => (i === j ? d[i] : 0)),
  );
  const rhs = new Array<number>(dim).fill(0);
  rows.forEach((h, s) => {
    if (!mask[s]) return;
    const x = [...h, 1];
    for (let i = 0; i < dim; i++) {
      rhs[i] += x[i] * r[s];
      for (let j = 0; j < dim; j++) g[i][j] += x[i] * x[j];
    }
  });
  const variance = query.map((q) => {
    const z = [...q, 1];
    const gz = solveDense(
      g.map((row) => [...row]),
      z,
    );
    return noise * (z.reduce((s, v, i) => s + v * gz[i], 0) + 1);
  });
  return { delta: solveDense(g, rhs), variance };
}

describe('bayesHeadPosterior', () => {
  // S = 3 < H + 1 = 5 takes the dual (Woodbury) form; S = 8 the primal one.
  for (const s of [3, 8]) {
    it(`equals the float64 posterior and predictive variance with padded rows ignored (support ${s})`, () => {
      const rng = new Rng(s);
      const [b, h, q] = [3, 4, 2];
      const f = Array.from({ length: b }, () =>
        Array.from({ length: s }, () => Array.from({ length: h }, () => rng.normal())),
      );
      const r = Array.from({ length: b }, () => Array.from({ length: s }, () => rng.normal()));
      const qf = Array.from({ length: b }, () =>
        Array.from({ length: q }, () => Array.from({ length: h }, () => rng.normal())),
      );
      const mask = [new Array(s).fill(1), [...new Array(s - 1).fill(1), 0], new Array(s).fill(0)];
      const d = [0.5, 2, 1, 4, 0.3];
      const noise = 0.7;
      const post = bayesHeadPosterior(
        tf.tensor3d(f),
        tf.tensor2d(r),
        tf.tensor2d(mask),
        tf.tensor1d(d),
        tf.scalar(noise),
        tf.tensor3d(qf),
      );
      const w = post.dw.arraySync();
      const bias = post.db.arraySync();
      const v = post.variance!.arraySync();
      for (let u = 0; u < b; u++) {
        const want = reference(f[u], r[u], mask[u], d, noise, qf[u]);
        for (let i = 0; i < h; i++) expect(w[u][i][0]).toBeCloseTo(want.delta[i], 4);
        expect(bias[u][0]).toBeCloseTo(want.delta[h], 4);
        want.variance.forEach((x, j) => expect(v[u][j]).toBeCloseTo(x, 4));
      }
      tf.dispose([post.dw, post.db, post.variance!, post.design]);
    });
  }

  it('with k = 0 returns the prior: no shift, prior predictive variance', () => {
    const f = tf.zeros([2, 3, 4]) as tf.Tensor3D;
    const qf = tf.tensor3d([[[1, 0, 2, 0]], [[0, 1, 0, 1]]]);
    const d = [0.5, 2, 1, 4, 0.25];
    const post = bayesHeadPosterior(
      f,
      tf.ones([2, 3]) as tf.Tensor2D,
      tf.zeros([2, 3]) as tf.Tensor2D,
      tf.tensor1d(d),
      tf.scalar(2),
      qf,
    );
    expect(Array.from(post.dw.dataSync()).every((x) => x === 0)).toBe(true);
    expect(Array.from(post.db.dataSync()).every((x) => x === 0)).toBe(true);
    // noise * (z D^-1 z^T + 1): z = [1, 0, 2, 0, 1] and [0, 1, 0, 1, 1].
    const v = post.variance!.dataSync();
    expect(v[0]).toBeCloseTo(2 * (1 / 0.5 + 4 / 1 + 1 / 0.25 + 1), 4);
    expect(v[1]).toBeCloseTo(2 * (1 / 2 + 1 / 4 + 1 / 0.25 + 1), 4);
    tf.dispose([f, qf, post.dw, post.db, post.variance!, post.design]);
  });

  it('is the ridge head for a scalar precision and unit noise', () => {
    const rng = new Rng(4);
    for (const s of [3, 9]) {
      const f = tf.tensor3d(
        Array.from({ length: 2 * s * 4 }, () => rng.normal()),
        [2, s, 4],
      );
      const r = tf.tensor2d(
        Array.from({ length: 2 * s }, () => rng.normal()),
        [2, s],
      );
      const mask = tf.tensor2d(
        Array.from({ length: 2 * s }, (_, i) => Number(i !== s - 1)),
        [2, s],
      );
      const lambda = 2.5;
      const ridge = ridgeHeadDelta(f, r, mask, lambda);
      const post = bayesHeadPosterior(f, r, mask, tf.fill([5], lambda) as tf.Tensor1D, tf.scalar(1));
      const a = Array.from(post.dw.dataSync());
      Array.from(ridge.dw.dataSync()).forEach((x, i) => expect(a[i]).toBeCloseTo(x, 5));
      Array.from(ridge.db.dataSync()).forEach((x, i) => expect(post.db.dataSync()[i]).toBeCloseTo(x, 5));
      tf.dispose([f, r, mask, ridge.dw, ridge.db, post.dw, post.db, post.design]);
    }
  });

  it('has the gradient of its finite differences in the features, the precision and the noise', () => {
    const rng = new Rng(12);
    for (const s of [3, 8]) {
      const [b, h, q] = [2, 4, 3];
      const feats = Array.from({ length: b * s * h }, () => rng.normal());
      const resid = Array.from({ length: b * s }, () => rng.normal());
      const qFeats = Array.from({ length: b * q * h }, () => rng.normal());
      const y = tf.tensor2d(
        Array.from({ length: b * q }, () => rng.normal()),
        [b, q],
      );
      const mask = tf.tensor2d(
        Array.from({ length: b * s }, (_, i) => Number(i % s !== 1)),
        [b, s],
      );
      const logPrec = Array.from({ length: h + 1 }, () => 0.3 * rng.normal());
      const logNoise = [-0.2];
      // A scalar of every output: the query NLL under the posterior predictive (mean: the shift).
      const objective = (f: tf.Tensor, lp: tf.Tensor, ln: tf.Tensor, qf: tf.Tensor) => {
        const noise = tf.exp(tf.reshape(ln, [])) as tf.Scalar;
        const d = tf.mul(tf.exp(lp), noise) as tf.Tensor1D;
        const post = bayesHeadPosterior(
          f as tf.Tensor3D,
          tf.tensor2d(resid, [b, s]),
          mask,
          d,
          noise,
          qf as tf.Tensor3D,
        );
        const mean = tf.add(tf.squeeze(tf.matMul(qf as tf.Tensor3D, post.dw), [2]), post.db) as tf.Tensor2D;
        return tf.sum(gaussianNll(mean, post.variance!, y, tf.onesLike(y) as tf.Tensor2D));
      };
      const inputs = [
        tf.tensor3d(feats, [b, s, h]),
        tf.tensor1d(logPrec),
        tf.tensor1d(logNoise),
        tf.tensor3d(qFeats, [b, q, h]),
      ];
      const grads = tf.grads((f, lp, ln, qf) => objective(f, lp, ln, qf))(inputs);
      const eps = 1e-2;
      inputs.forEach((x, k) => {
        const base = Array.from(x.dataSync());
        const g = grads[k].dataSync();
        // A random direction in each input: the directional derivative against central differences.
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
            return objective(moved[0], moved[1], moved[2], moved[3]).dataSync()[0];
          });
        const fd = (at(1) - at(-1)) / (2 * eps);
        const analytic = dir.reduce((sum, v, i) => sum + v * g[i], 0);
        expect(Math.abs(analytic - fd)).toBeLessThan(0.02 * Math.abs(fd) + 2e-3);
      });
      tf.dispose([...inputs, ...grads, y, mask]);
    }
  });
});

describe('adapt with the Bayesian head', () => {
  const requests = world.tasks
    .slice(0, 5)
    .map((t, i) => ({ user: t.user, support: t.support.slice(0, [7, 2, 0, 7, 4][i]) }));

  it('is the default, gives the same predictions and variances batched as one at a time', () => {
    const m = bayes();
    const items = m.encodeItems(world.items);
    const batched = adapt(m, requests, world.catalog);
    const all = scoreBatch(batched, [0, 1, 2, 3, 4], items);
    requests.forEach((req, i) => {
      const one = adapt(m, [req], world.catalog);
      score(one, 0, items).forEach((v, j) => expect(all[i * items.size + j]).toBeCloseTo(v, 4));
      const v1 = predictiveVariance(one, 0, items);
      predictiveVariance(batched, i, items).forEach((v, j) => expect(v).toBeCloseTo(v1[j], 4));
      one.dispose();
    });
    // Evidence shrinks the variance: the user with 7 ratings is less uncertain than the one with 0.
    const mean = (v: Float32Array) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(predictiveVariance(batched, 0, items))).toBeLessThan(
      mean(predictiveVariance(batched, 2, items)),
    );
    // The user without support keeps the prior (the meta-learned head).
    const prior = adapt(m, [requests[2]], world.catalog, { bayes: false, steps: 0 });
    score(prior, 0, items).forEach((v, j) => expect(all[2 * items.size + j]).toBeCloseTo(v, 5));
    // bayes: false falls back to ridge or gradient steps.
    const ridge = adapt(m, requests, world.catalog, { bayes: false, ridge: 1 });
    expect(Math.abs(score(ridge, 0, items)[0] - all[0])).toBeGreaterThan(1e-4);
    expect(() => predictiveVariance(ridge, 0, items)).toThrow(ValidationError);
    prior.dispose();
    ridge.dispose();
    batched.dispose();
    items.dispose();
    m.dispose();
  });

  it('does not grow tensor memory, and is refused where it does not apply', () => {
    const m = bayes();
    const items = m.encodeItems(world.items);
    expectNoTensorGrowth(() => {
      const a = adapt(m, requests, world.catalog);
      score(a, 0, items);
      predictiveVariance(a, 1, items);
      a.user(1).dispose();
      a.dispose();
    });
    items.dispose();
    m.dispose();
    const plain = bayes({ bayesHead: false });
    expect(() => adapt(plain, requests, world.catalog, { bayes: true })).toThrow(/options\.bayes/);
    plain.dispose();
    const melu = bayes({ localGroups: ['decision', 'output'] });
    expect(() => adapt(melu, requests, world.catalog)).toThrow(/options\.bayes/);
    melu.dispose();
  });
});

describe('metaTrain with the Bayesian head', () => {
  it('meta-learns the prior through the posterior (NLL), and is seeded', async () => {
    const train = async (seed: number) => {
      const m = bayes();
      const result = await metaTrain(m, world.tasks, world.catalog, {
        algorithm: 'anil',
        epochs: 8,
        metaBatchSize: 6,
        outerLr: 0.02,
        seed,
      });
      return { m, result };
    };
    const { m, result } = await train(1);
    expect(result.epochLoss[result.epochLoss.length - 1]).toBeLessThan(result.epochLoss[0]);
    const prec = Array.from(m.params['prior.logPrec'].dataSync());
    expect(prec.some((v) => Math.abs(v - Math.log(10)) > 0.05)).toBe(true);
    expect(Math.abs(m.params['prior.logNoise'].dataSync()[0])).toBeGreaterThan(0.05);
    expect(m.training?.bayesLoss).toBe('nll');
    const again = await train(1);
    expect(Array.from(again.m.params['prior.logPrec'].dataSync())).toEqual(prec);
    again.m.dispose();
    m.dispose();
  });

  it('also trains with the squared-error loss and on implicit data, and refuses what does not apply', async () => {
    const mse = bayes();
    const r = await metaTrain(mse, world.tasks, world.catalog, {
      algorithm: 'anil',
      bayesLoss: 'mse',
      epochs: 3,
      metaBatchSize: 6,
      outerLr: 0.02,
    });
    expect(r.lossHistory.every(Number.isFinite)).toBe(true);
    await expect(
      metaTrain(mse, world.tasks, world.catalog, { algorithm: 'anil', innerRidge: 3 }),
    ).rejects.toThrow(/options\.innerRidge/);
    await expect(metaTrain(mse, world.tasks, world.catalog, { algorithm: 'melu' })).rejects.toThrow(
      /options\.algorithm/,
    );
    await expect(metaTrain(mse, world.tasks, world.catalog, { bayesLoss: 'x' as never })).rejects.toThrow(
      /options\.bayesLoss/,
    );
    mse.dispose();
    const implicit = bayes({ task: 'implicit', negatives: { perPositive: 2, distribution: 'uniform' } });
    const positives = world.tasks.map((t) => ({
      ...t,
      support: t.support.filter((x) => x.value >= 4).map((x) => ({ ...x, value: 1 })),
      query: t.query.filter((x) => x.value >= 4).map((x) => ({ ...x, value: 1 })),
    }));
    const ri = await metaTrain(implicit, positives, world.catalog, {
      algorithm: 'anil',
      epochs: 2,
      metaBatchSize: 6,
    });
    expect(ri.lossHistory.every(Number.isFinite)).toBe(true);
    implicit.dispose();
  });
});

describe('artifacts', () => {
  it('keep the prior and the head, and adapt the same after loading', async () => {
    const root = mkdtempSync(join(tmpdir(), 'warmstart-bayes-'));
    try {
      const m = bayes();
      m.params['prior.logPrec'].assign(tf.linspace(0, 2, 5));
      m.params['prior.logNoise'].assign(tf.tensor1d([-0.5]));
      await saveModel(m, join(root, 'a'));
      const loaded = await loadModel(join(root, 'a'));
      expect(loaded.config.bayesHead).toBe(true);
      expect(Array.from(loaded.params['prior.logNoise'].dataSync())).toEqual([-0.5]);
      const requests = world.tasks.slice(0, 3).map((t) => ({ user: t.user, support: t.support }));
      const [ia, ib] = [m.encodeItems(world.items), loaded.encodeItems(world.items)];
      const [a, b] = [adapt(m, requests, world.catalog), adapt(loaded, requests, world.catalog)];
      score(b, 2, ib).forEach((v, j) => expect(v).toBeCloseTo(score(a, 2, ia)[j], 5));
      predictiveVariance(b, 2, ib).forEach((v, j) =>
        expect(v).toBeCloseTo(predictiveVariance(a, 2, ia)[j], 5),
      );
      [a, b, ia, ib, loaded, m].forEach((x) => x.dispose());
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
