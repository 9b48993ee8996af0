/**
 * innerLoop's collapseUserRows (serving adapts u @ dec.0.wu instead of per-user copies of the
 * first layer's user rows) against the plain inner loop: the same predictions after the same
 * steps, with a scalar rate and with Meta-SGD rates, for ratings and implicit feedback.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createModel, initBackend, MELU_LOCAL_GROUPS, metaTrain, type Params } from '../src';
import { buildRatedSet, disposeRatedSet } from '../src/model/batch';
import { inputsFor, innerLoop } from '../src/model/inner';
import { forward, USER_ROWS, withContent } from '../src/model/network';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe.each([
  ['rating', 'maml'],
  ['rating', 'meta-sgd'],
  ['implicit', 'maml'],
] as const)('collapsed user rows (%s, %s)', (task, algorithm) => {
  it('adapt to the same predictions as per-user copies of dec.0.wu', async () => {
    const world = makeWorld(3, 12, 20, 10);
    const model = createModel(world.spec, {
      embeddingDim: 4,
      hidden: [8, 6],
      seed: 2,
      task,
      localGroups: MELU_LOCAL_GROUPS,
      userBiasShrinkage: task === 'rating' ? 2 : null,
    });
    // A few meta-training steps so that the weights (and Meta-SGD rates) are not at their init.
    await metaTrain(model, world.tasks, world.catalog, {
      algorithm,
      metaBatchSize: 4,
      innerSteps: 2,
      seed: 1,
    });
    expect(model.localNames()).toContain('dec.0.wu');
    const tasks = world.tasks.slice(0, 5);
    const opts = { path: 'tasks', list: 'support' };
    const support = buildRatedSet(
      model,
      tasks.map((t) => t.support),
      world.catalog,
      opts,
    );
    const query = buildRatedSet(
      model,
      tasks.map((t) => t.query),
      world.catalog,
      { ...opts, list: 'query' },
    );
    const userX = model.encodeUsers(tasks.map((t) => t.user));
    const lr = algorithm === 'meta-sgd' ? (model.innerLrs as Params) : 0.05;
    const l = model.layout;
    const run = (collapseUserRows: boolean) =>
      tf.tidy(() => {
        const global = model.globals();
        const inp = inputsFor(l, global, userX, support);
        const local = innerLoop(l, global, model.localNames(), inp, support, model.globalMean, {
          steps: 3,
          lr,
          collapseUserRows,
        });
        expect(USER_ROWS in local).toBe(collapseUserRows);
        expect('dec.0.wu' in local).toBe(!collapseUserRows);
        // What the user rows contribute to the first layer, u @ dec.0.wu: [5, 1, 8] either way.
        const u = withContent(l, global, inp, model.globalMean).userContent!;
        const rows = collapseUserRows ? local[USER_ROWS] : tf.matMul(u, local['dec.0.wu'] as tf.Tensor3D);
        const pred = forward(
          l,
          { ...global, ...local },
          inputsFor(l, global, userX, query),
          model.globalMean,
        );
        const start = tf.matMul(u, tf.expandDims(global['dec.0.wu'], 0));
        return {
          rows: Array.from(rows.dataSync()),
          moved: Array.from(tf.sub(rows, start).dataSync()),
          pred: Array.from(pred.dataSync()),
        };
      });
    const plain = run(false);
    const collapsed = run(true);
    expect(collapsed.rows.length).toBe(5 * 8);
    // The steps moved the user rows' contribution, and both paths moved it the same way.
    const scale = Math.max(...plain.moved.map(Math.abs));
    expect(scale).toBeGreaterThan(1e-3);
    plain.moved.forEach((v, i) => expect(Math.abs(collapsed.moved[i] - v)).toBeLessThan(1e-3 * scale));
    plain.pred.forEach((v, i) => expect(collapsed.pred[i]).toBeCloseTo(v, 4));
    disposeRatedSet(support);
    disposeRatedSet(query);
    userX.dispose();
    model.dispose();
  });
});
