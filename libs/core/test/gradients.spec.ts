/**
 * Gradient checks: the hand-written inner-loop backward pass against tfjs autodiff, and every
 * meta-learner's meta-gradient against central finite differences of the full meta-objective.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  buildMetaBatch,
  buildNegativePool,
  createModel,
  disposeMetaBatch,
  initBackend,
  metaGradients,
  metaObjective,
  type Algorithm,
  type MetaBatch,
  type ModelConfig,
  type Params,
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

/**
 * With `users`, warm-user ID embeddings too: the first two users of the batch (tasks 0 and 1) have
 * their own row of id.user, the third is cold (row 0). The table starts at random values instead
 * of zeros, so the first layer's user-ID rows get non-zero gradients as well.
 */
function tiny(extra: Partial<ModelConfig> = {}, users = false): RecommenderModel {
  const model = createModel(world.spec, {
    embeddingDim: 3,
    hidden: [5, 4],
    seed: 5,
    // Half the items have ID embeddings, so both the ID table and the generator are exercised.
    idEmbeddings: {
      itemIds: world.items.slice(0, 10).map((i) => i.id),
      dim: 2,
      ...(users && { userIds: [world.users[0].id, world.users[1].id] }),
    },
    ...extra,
  });
  if (users) {
    const t = model.params['id.user'];
    const rng = new Rng(17);
    t.assign(
      tf.tensor(
        Float32Array.from({ length: t.size }, () => 0.5 * rng.normal()),
        t.shape,
      ),
    );
  }
  return model;
}

function batchOf(model: RecommenderModel, implicit = false): MetaBatch {
  const tasks = (implicit ? implicitTasks : world.tasks).slice(0, 3);
  const sampling = model.config.negatives;
  if (!sampling) return buildMetaBatch(model, tasks, world.catalog);
  // Sampled negatives (BPR query loss): drawn once, so every evaluation sees the same batch.
  const pool = buildNegativePool(model, implicitTasks, world.catalog);
  return buildMetaBatch(model, tasks, world.catalog, {
    negatives: { pool, perPositive: sampling.perPositive, rng: new Rng(3) },
  });
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

/**
 * Directional derivative of `evaluate` (a scalar function of the variables' current values) along
 * `dirs` by central differences; the variables are restored afterwards.
 */
function centralDifference(
  vars: Record<string, tf.Variable>,
  dirs: Record<string, Float32Array>,
  eps: number,
  evaluate: () => number,
): number {
  const saved = Object.fromEntries(Object.entries(vars).map(([n, v]) => [n, v.dataSync().slice()]));
  const at = (sign: number) => {
    for (const [n, v] of Object.entries(vars)) {
      const x = saved[n].map((s, i) => s + sign * eps * (dirs[n]?.[i] ?? 0));
      v.assign(tf.tensor(x, v.shape));
    }
    return evaluate();
  };
  const d = (at(1) - at(-1)) / (2 * eps);
  for (const [n, v] of Object.entries(vars)) v.assign(tf.tensor(saved[n], v.shape));
  return d;
}

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
  users = false,
  negatives = 0,
  extra: Partial<ModelConfig> = {},
) {
  const model = tiny(
    {
      ...extra,
      task,
      userBiasShrinkage,
      ...(negatives > 0 && { negatives: { perPositive: negatives, distribution: 'popularity' as const } }),
      localGroups:
        algorithm === 'melu'
          ? ['decision', 'output']
          : algorithm === 'anil'
            ? ['output']
            : ['embeddings', 'decision', 'output'],
    },
    users,
  );
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
  // Dense random directions first; if each crosses a kink (a bias such as dec.0.b or gen.b shifts
  // every row's pre-activation of its units at once, so some row of the batch often sits within
  // eps of its kink), single coordinates: one unit's rows only, which are kink-free far more often.
  const dense = innerRidge === null ? 4 : 16;
  for (const [name, v] of Object.entries(vars)) {
    for (let tries = 0; tries < dense + 12; tries++) {
      const dirs: Record<string, Float32Array> = {};
      for (const [n, w] of Object.entries(vars)) dirs[n] = new Float32Array(w.size);
      if (tries < dense) dirs[name] = Float32Array.from({ length: v.size }, () => rng.normal());
      else {
        // A coordinate the gradient does not ignore (a dead unit's 0 = 0 would check nothing).
        const g = grads[name]?.dataSync() ?? new Float32Array(v.size);
        const live = [...g.keys()].filter((i) => Math.abs(g[i]) > 1e-6);
        dirs[name][live.length ? live[rng.int(live.length)] : rng.int(v.size)] = 1;
      }
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
  // Every parameter tensor (and Meta-SGD rate tensor) is checked along at least one direction.
  expect(Object.keys(vars).filter((n) => !results.some((r) => r.name === n))).toEqual([]);
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

  // Implicit feedback with sampled negatives: the BPR loss of the query positives against their
  // negatives, after adapting on the support positives plus sampled negatives (gradient steps, or
  // the closed-form head regressing 1 on positives and 0 on negatives).
  // (Third column: negatives per positive; MAML's full network has more ReLU kinks per row, so it
  // gets fewer rows to find kink-free directions through.)
  const rankingCases: [Algorithm, number | null, number][] = [
    ['maml', null, 1],
    ['anil', null, 2],
    ['anil', 0.5, 2],
  ];
  for (const [algorithm, ridge, perPositive] of rankingCases) {
    const head = ridge === null ? '' : `, ridge head ${ridge}`;
    it(`${algorithm} (implicit, sampled negatives, BPR${head}) is the exact second-order gradient`, () => {
      const failures = directionalCheck(algorithm, 'implicit', 0.3, null, ridge, false, perPositive)
        .filter(({ analytic, fd }) => Math.abs(analytic - fd) > 0.03 * Math.abs(fd) + 1e-3)
        .map(({ name, analytic, fd }) => `${name}: analytic ${analytic} vs finite difference ${fd}`);
      expect(failures).toEqual([]);
    });
  }

  // The Bayesian last layer: the posterior through the solve, its prior precision and noise
  // (rating: ALPaCA's Gaussian NLL of the query under the posterior predictive; implicit: BPR of
  // the posterior mean's scores, adapted on positives plus sampled negatives).
  for (const [task, perPositive] of [
    ['rating', 0],
    ['implicit', 2],
  ] as const) {
    it(`anil (${task}, Bayesian head) is the exact gradient through the posterior`, () => {
      const results = directionalCheck('anil', task, 0.3, null, null, false, perPositive, {
        bayesHead: true,
      });
      // The prior is checked along a direction that moves the objective (implicit: BPR depends on
      // the noise only through its product with the precision, a near-flat direction here).
      const live = task === 'rating' ? ['prior.logPrec', 'prior.logNoise'] : ['prior.logPrec'];
      for (const name of live)
        expect(results.some((r) => r.name === name && Math.abs(r.fd) > 1e-5)).toBe(true);
      const failures = results
        .filter(({ analytic, fd }) => Math.abs(analytic - fd) > 0.03 * Math.abs(fd) + 1e-3)
        .map(({ name, analytic, fd }) => `${name}: analytic ${analytic} vs finite difference ${fd}`);
      expect(failures).toEqual([]);
    });
  }

  // Warm-user ID embeddings (id.user: two warm users, one cold in the batch): the table is global
  // and enters the user vector of every inner step, so its meta-gradient is second order too.
  const userCases: [Algorithm, 'rating' | 'implicit', number | null][] = [
    ['maml', 'rating', null],
    ['maml', 'implicit', null],
    ['melu', 'rating', null],
    ['anil', 'rating', null],
    ['meta-sgd', 'rating', null],
    ['meta-sgd', 'rating', 5],
  ];
  for (const [algorithm, task, shrinkage] of userCases) {
    const bias = shrinkage === null ? '' : `, user-bias step ${shrinkage}`;
    it(`${algorithm} (${task}${bias}, user ID embeddings) is the exact second-order gradient`, () => {
      const results = directionalCheck(algorithm, task, 0.3, shrinkage, null, true);
      expect(results.some((r) => r.name === 'id.user' && Math.abs(r.fd) > 1e-4)).toBe(true);
      const failures = results
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

describe('first-order MAML', () => {
  // FOMAML's meta-gradient is the gradient of the query loss with respect to the ADAPTED
  // parameters, applied to the initial ones: with the adaptation displacement of every user frozen
  // at its value for the current parameters (Delta_b = phi_b - theta), it is the exact gradient of
  //   F(theta) = mean_b L_query,b(theta_global, theta_local + Delta_b),
  // global-only parameters (ID table, generator, shared embeddings) entering directly. F is
  // computed here from the forward pass and the loss alone, not through the inner loop.
  const cases: ['rating' | 'implicit', number | null, ModelConfig['localGroups'], boolean?][] = [
    ['rating', null, ['embeddings', 'decision', 'output']],
    ['implicit', null, ['embeddings', 'decision', 'output']],
    ['rating', 5, ['decision', 'output']],
    // Warm-user ID embeddings (id.user enters the query loss directly and through Delta_b).
    ['rating', null, ['embeddings', 'decision', 'output'], true],
    ['rating', 5, ['decision', 'output'], true],
  ];
  for (const [task, shrinkage, localGroups, users = false] of cases) {
    const bias = shrinkage === null ? '' : `, user-bias step ${shrinkage}`;
    const uid = users ? ', user ID embeddings' : '';
    it(`is the gradient of the query loss at the adapted parameters (${task}${bias}, ${localGroups.join('+')}${uid})`, () => {
      const model = tiny({ task, userBiasShrinkage: shrinkage, localGroups }, users);
      const mb = batchOf(model, task === 'implicit');
      const innerLr = 0.3;
      const opts = { algorithm: 'fomaml' as const, innerSteps: 2, innerLr };
      const { grads } = metaGradients(model, mb, opts);
      const names = model.localNames();
      const delta: Params = tf.tidy(() => {
        const { local } = metaObjective(model, model.globals(), null, mb, opts);
        return Object.fromEntries(names.map((n) => [n, tf.sub(local[n], model.params[n])]));
      });
      const frozen = () =>
        tf.tidy(() => {
          const global = model.globals();
          const p: Params = { ...global };
          for (const n of names) p[n] = tf.add(global[n], delta[n]); // [B, ...]
          const qIn = inputsFor(model.layout, global, mb.userX, mb.query);
          const pred = forward(model.layout, p, qIn, model.globalMean);
          return tf.mean(perUserLoss(model.layout, pred, mb.query.y, mb.query.mask)).dataSync()[0];
        });
      const vars: Record<string, tf.Variable> = { ...model.params };
      const rng = new Rng(task === 'rating' ? 31 : 32);
      const failures: string[] = [];
      const unchecked: string[] = [];
      for (const [name, v] of Object.entries(vars)) {
        const g = grads[name]?.dataSync() ?? new Float32Array(v.size);
        let done = false;
        // Dense random directions, then single live coordinates (see directionalCheck).
        for (let tries = 0; tries < 16 && !done; tries++) {
          const dir = new Float32Array(v.size);
          if (tries < 4) dir.set(Float32Array.from({ length: v.size }, () => rng.normal()));
          else {
            const live = [...g.keys()].filter((i) => Math.abs(g[i]) > 1e-6);
            dir[live.length ? live[rng.int(live.length)] : rng.int(v.size)] = 1;
          }
          const fd = (eps: number) => centralDifference(vars, { [name]: dir }, eps, frozen);
          const [fd1, fd2] = [fd(1e-3), fd(5e-4)];
          if (Math.abs(fd1 - fd2) > 0.01 * Math.abs(fd2) + 3e-4) continue; // a ReLU kink
          done = true;
          const analytic = Array.from(g).reduce((acc, x, i) => acc + x * dir[i], 0);
          if (Math.abs(analytic - fd2) > 0.03 * Math.abs(fd2) + 1e-3)
            failures.push(`${name}: analytic ${analytic} vs finite difference ${fd2}`);
        }
        if (!done) unchecked.push(name);
      }
      expect(unchecked).toEqual([]);
      expect(failures).toEqual([]);
      tf.dispose([...Object.values(grads), ...Object.values(delta)]);
      disposeMetaBatch(mb);
      model.dispose();
    });
  }
});

describe('Reptile, several inner steps', () => {
  // Reference: each user adapted on its own (a one-user meta-batch) by plain SGD on its support
  // loss, with the gradient from tfjs autodiff instead of the hand-written backward pass of the
  // inner loop, for every adapted group (embeddings, decision, output). Reptile's update of a local
  // parameter must be theta - mean_b(phi_b). Both are float32 computations of the same 3 steps in
  // a different order of operations (~1e-7 relative each): 1e-4 of the update's scale is a wide
  // margin, and a missed or extra step moves it by about a third.
  it.each([
    ['rating', null, false],
    ['rating', 5, false],
    ['implicit', null, false],
    ['rating', null, true],
    ['rating', 5, true],
  ] as const)(
    'moves local parameters to the mean adapted value (%s, user-bias step %s, user IDs %s)',
    (task, shrinkage, users) => {
      const model = tiny(
        {
          task,
          userBiasShrinkage: shrinkage,
          localGroups: ['embeddings', 'decision', 'output'],
        },
        users,
      );
      const implicit = task === 'implicit';
      const mb = batchOf(model, implicit);
      const innerLr = 0.2;
      const steps = 3;
      const { grads } = metaGradients(model, mb, { algorithm: 'reptile', innerSteps: steps, innerLr });
      const fo = metaGradients(model, mb, { algorithm: 'fomaml', innerSteps: steps, innerLr }).grads;
      const names = model.localNames();
      const l = model.layout;
      const sum: Record<string, Float32Array> = Object.fromEntries(
        names.map((n) => [n, new Float32Array(model.params[n].size)]),
      );
      const tasks = (implicit ? implicitTasks : world.tasks).slice(0, 3);
      for (const t of tasks) {
        const one = buildMetaBatch(model, [t], world.catalog);
        const phi = tf.tidy(() => {
          const global = model.globals();
          const inp = inputsFor(l, global, one.userX, one.support);
          const lossOf = (p: Params) =>
            tf.sum(perUserLoss(l, forward(l, p, inp, model.globalMean), one.support.y, one.support.mask));
          let cur: Params = Object.fromEntries(names.map((n) => [n, global[n]]));
          if (shrinkage !== null) {
            // The closed-form user-bias step first: out.b += sum(y - pred) / (n + shrinkage).
            const pred = forward(l, global, inp, model.globalMean);
            const resid = tf.sum(tf.mul(tf.sub(one.support.y, pred), one.support.mask));
            const n = tf.sum(one.support.mask);
            cur['out.b'] = tf.add(cur['out.b'], tf.reshape(tf.div(resid, tf.add(n, shrinkage)), [1]));
          }
          for (let k = 0; k < steps; k++) {
            const g = tf.grads((...xs: tf.Tensor[]) => {
              const p: Params = { ...global };
              names.forEach((n, i) => (p[n] = xs[i]));
              return lossOf(p) as tf.Scalar;
            })(names.map((n) => cur[n]));
            cur = Object.fromEntries(names.map((n, i) => [n, tf.sub(cur[n], tf.mul(innerLr, g[i]))]));
          }
          return cur;
        });
        for (const n of names) {
          const v = phi[n].dataSync();
          for (let i = 0; i < v.length; i++) sum[n][i] += v[i];
        }
        tf.dispose(Object.values(phi));
        disposeMetaBatch(one);
      }
      for (const n of names) {
        const theta = model.params[n].dataSync();
        const expected = theta.map((x, i) => x - sum[n][i] / tasks.length);
        const actual = grads[n].dataSync();
        const scale = Math.max(1e-3, ...Array.from(expected, Math.abs));
        const worst = Math.max(...Array.from(actual, (a, i) => Math.abs(a - expected[i])));
        expect({ name: n, ok: worst <= 1e-4 * scale }).toEqual({ name: n, ok: true });
      }
      // Global-only parameters (ID table, generator) get the first-order query-loss gradient.
      for (const n of Object.keys(model.params).filter((x) => !names.includes(x))) {
        const a = grads[n].dataSync();
        const b = fo[n].dataSync();
        for (let i = 0; i < a.length; i++)
          expect(Math.abs(a[i] - b[i])).toBeLessThanOrEqual(1e-6 + 1e-5 * Math.abs(b[i]));
      }
      tf.dispose([...Object.values(grads), ...Object.values(fo)]);
      disposeMetaBatch(mb);
      model.dispose();
    },
  );
});
