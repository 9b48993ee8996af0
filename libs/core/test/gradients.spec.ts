/**
 * Gradient checks: the hand-written inner-loop backward pass against tfjs autodiff, and every
 * meta-learner's meta-gradient against central finite differences of the full meta-objective.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  buildMetaBatch,
  createModel,
  disposeMetaBatch,
  initBackend,
  metaGradients,
  metaObjective,
  type Algorithm,
  type MetaBatch,
  type ModelConfig,
  type RecommenderModel,
} from '../src';
import { inputsFor, tileLocal } from '../src/model/inner';
import { perUserLoss, forward, supportGrads } from '../src/model/network';
import { Rng } from '../src/rng';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(11, 8, 20, 8);
const implicitTasks = world.tasks.map((t) => ({
  ...t,
  support: t.support.map((r) => ({ ...r, value: r.value >= 4 ? 1 : 0 })),
  query: t.query.map((r) => ({ ...r, value: r.value >= 4 ? 1 : 0 })),
}));

function tiny(extra: Partial<ModelConfig> = {}): RecommenderModel {
  return createModel(world.spec, {
    embeddingDim: 3,
    hidden: [5, 4],
    seed: 5,
    // Half the items have ID embeddings, so both the ID table and the generator are exercised.
    idEmbeddings: { itemIds: world.items.slice(0, 10).map((i) => i.id), dim: 2 },
    ...extra,
  });
}

function batchOf(model: RecommenderModel, implicit = false): MetaBatch {
  const tasks = (implicit ? implicitTasks : world.tasks).slice(0, 3);
  return buildMetaBatch(model, tasks, world.catalog);
}

describe('inner-loop gradient (analytic backprop)', () => {
  for (const task of ['rating', 'implicit'] as const) {
    it(`matches tfjs autodiff for every local group (${task})`, () => {
      const model = tiny({ task, localGroups: ['embeddings', 'decision', 'output'] });
      const mb = batchOf(model, task === 'implicit');
      const names = model.localNames();
      tf.tidy(() => {
        const global = model.globals();
        const inputs = inputsFor(model.layout, global, mb.userX, mb.support);
        // Perturb the per-user copies so users differ.
        const rng = new Rng(1);
        const local = tileLocal(global, names, mb.size);
        for (const n of names)
          local[n] = tf.add(
            local[n],
            tf.mul(0.1, tf.randomNormal(local[n].shape, 0, 1, 'float32', rng.int(1e6))),
          );
        const grads = supportGrads(
          model.layout,
          { ...global, ...local },
          names,
          inputs,
          mb.support.y,
          mb.support.mask,
          model.globalMean,
        );
        const auto = tf.grads((...xs: tf.Tensor[]) => {
          const p = { ...global };
          names.forEach((n, i) => (p[n] = xs[i]));
          return tf.sum(
            perUserLoss(
              model.layout,
              forward(model.layout, p, inputs, model.globalMean),
              mb.support.y,
              mb.support.mask,
            ),
          );
        })(names.map((n) => local[n]));
        names.forEach((n, i) => {
          const a = grads[n].dataSync();
          const b = auto[i].dataSync();
          expect(a.length).toBe(b.length);
          const scale = Math.max(1e-3, ...Array.from(b, Math.abs));
          for (let j = 0; j < a.length; j++) expect(Math.abs(a[j] - b[j]) / scale).toBeLessThan(1e-4);
        });
      });
      disposeMetaBatch(mb);
      model.dispose();
    });
  }
});

/** Directional derivative of the meta-objective along v by central differences. */
function finiteDifference(
  model: RecommenderModel,
  mb: MetaBatch,
  algorithm: Algorithm,
  dirs: Record<string, Float32Array>,
  vars: Record<string, tf.Variable>,
  eps: number,
  innerSteps: number,
  innerLr: number,
  innerRidge: number | null = null,
): number {
  const saved = Object.fromEntries(Object.entries(vars).map(([n, v]) => [n, v.dataSync().slice()]));
  const at = (sign: number) => {
    for (const [n, v] of Object.entries(vars)) {
      const x = saved[n].map((s, i) => s + sign * eps * dirs[n][i]);
      v.assign(tf.tensor(x, v.shape));
    }
    return tf.tidy(
      () =>
        metaObjective(model, model.globals(), model.innerLrs, mb, {
          algorithm,
          innerSteps,
          innerLr,
          innerRidge,
        }).loss.dataSync()[0],
    );
  };
  const d = (at(1) - at(-1)) / (2 * eps);
  for (const [n, v] of Object.entries(vars)) v.assign(tf.tensor(saved[n], v.shape));
  return d;
}

function directionalCheck(
  algorithm: Algorithm,
  task: 'rating' | 'implicit',
  innerLr: number,
  userBiasShrinkage: number | null = null,
  innerRidge: number | null = null,
) {
  const model = tiny({
    task,
    userBiasShrinkage,
    localGroups:
      algorithm === 'melu'
        ? ['decision', 'output']
        : algorithm === 'anil'
          ? ['output']
          : ['embeddings', 'decision', 'output'],
  });
  const mb = batchOf(model, task === 'implicit');
  const opts = { algorithm, innerSteps: 2, innerLr, innerRidge };
  const { grads } = metaGradients(model, mb, opts); // creates Meta-SGD rates when needed
  const vars: Record<string, tf.Variable> = { ...model.params };
  for (const [n, v] of Object.entries(model.innerLrs ?? {})) vars[`lr/${n}`] = v;
  const rng = new Rng(algorithm.length * 7 + (task === 'rating' ? 0 : 1));
  const results: { name: string; analytic: number; fd: number }[] = [];
  // One random direction per parameter tensor. ReLU kinks make finite differences unreliable along
  // some directions: keep a direction only where halving eps leaves the estimate unchanged.
  const objective = algorithm === 'fomaml' ? 'maml' : algorithm;
  for (const [name, v] of Object.entries(vars)) {
    for (let tries = 0; tries < (innerRidge === null ? 4 : 16); tries++) {
      const dirs: Record<string, Float32Array> = {};
      for (const [n, w] of Object.entries(vars)) dirs[n] = new Float32Array(w.size);
      dirs[name] = Float32Array.from({ length: v.size }, () => rng.normal());
      const g = grads[name]?.dataSync() ?? new Float32Array(v.size);
      let analytic = 0;
      for (let i = 0; i < g.length; i++) analytic += g[i] * dirs[name][i];
      const fd = (eps: number) =>
        finiteDifference(model, mb, objective, dirs, vars, eps, 2, innerLr, innerRidge);
      const [fd1, fd2] = [fd(1e-3), fd(5e-4)];
      const agree = (a: number, b: number) => Math.abs(a - b) <= 0.01 * Math.abs(b) + 3e-4;
      // The ridge head's solve depends on every support row's features at once, so a kink in any of
      // them moves it: there a third, wider estimate must agree too (more directions are tried).
      const smooth = innerRidge === null || agree(fd(2e-3), fd1);
      if (smooth && agree(fd1, fd2)) {
        results.push({ name, analytic, fd: fd2 });
        break;
      }
    }
  }
  expect(results.length).toBeGreaterThanOrEqual(Object.keys(vars).length - 2);
  tf.dispose(Object.values(grads));
  disposeMetaBatch(mb);
  model.dispose();
  return results;
}

describe('meta-gradients against finite differences of the meta-objective', () => {
  // Third column: the closed-form user-bias step's shrinkage (null: off); fourth: the closed-form
  // ridge head's penalty replacing the inner steps (ridge-head.ts; the gradient flows through the solve).
  const cases: [Algorithm, 'rating' | 'implicit', number | null, (number | null)?][] = [
    ['maml', 'rating', null],
    ['maml', 'implicit', null],
    ['melu', 'rating', null],
    // ANIL takes the head-only inner loop (trunk computed once): still exact second order.
    ['anil', 'rating', null],
    ['anil', 'implicit', null],
    ['meta-sgd', 'rating', null],
    ['meta-sgd', 'implicit', null],
    // With the user-bias step before the gradient steps (general, head-only and Meta-SGD loops).
    ['maml', 'rating', 5],
    ['anil', 'rating', 5],
    ['meta-sgd', 'rating', 5],
    ['anil', 'rating', null, 0.5],
    ['anil', 'rating', 5, 2],
  ];
  for (const [algorithm, task, shrinkage, ridge = null] of cases) {
    const bias = shrinkage === null ? '' : `, user-bias step ${shrinkage}`;
    const head = ridge === null ? '' : `, ridge head ${ridge}`;
    it(`${algorithm} (${task}${bias}${head}) is the exact second-order gradient`, () => {
      const failures = directionalCheck(algorithm, task, 0.3, shrinkage, ridge)
        .filter(({ analytic, fd }) => Math.abs(analytic - fd) > 0.03 * Math.abs(fd) + 1e-3)
        .map(({ name, analytic, fd }) => `${name}: analytic ${analytic} vs finite difference ${fd}`);
      expect(failures).toEqual([]);
    });
  }

  it('first-order MAML differs from the true gradient (so the check above can fail)', () => {
    const res = directionalCheck('fomaml', 'rating', 0.3, null);
    const worst = Math.max(...res.map(({ analytic, fd }) => Math.abs(analytic - fd) / (Math.abs(fd) + 1e-3)));
    expect(worst).toBeGreaterThan(0.1);
  });
});

describe('Reptile', () => {
  it('with one inner step, moves local parameters by innerLr x the support-loss gradient', () => {
    const model = tiny({ localGroups: ['decision', 'output'], userBiasShrinkage: null });
    const innerLr = 0.2;
    const mb = batchOf(model);
    const { grads } = metaGradients(model, mb, { algorithm: 'reptile', innerSteps: 1, innerLr });
    // The support loss as a meta-objective: no adaptation, scored on the support set.
    const onSupport: MetaBatch = { ...mb, query: mb.support };
    const rng = new Rng(99);
    for (const name of model.localNames()) {
      const v = model.params[name];
      const dirs: Record<string, Float32Array> = {
        [name]: Float32Array.from({ length: v.size }, () => rng.normal()),
      };
      const fd = finiteDifference(model, onSupport, 'maml', dirs, { [name]: v }, 1e-3, 0, innerLr);
      const g = grads[name].dataSync();
      const analytic = Array.from(g).reduce((s, x, i) => s + x * dirs[name][i], 0);
      expect(Math.abs(analytic - innerLr * fd)).toBeLessThan(0.03 * Math.abs(innerLr * fd) + 1e-3);
    }
    tf.dispose(Object.values(grads));
    disposeMetaBatch(mb);
    model.dispose();
  });
});
