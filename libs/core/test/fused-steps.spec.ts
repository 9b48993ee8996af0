/**
 * innerLoop's serving path with the fused kernels (each weight step W - x^T dy in one product,
 * the first layer's item half adapted through the support items' Gram matrix, dec.0.w formed
 * after the last step) against the plain inner loop: the same adapted parameters, for MeLU
 * (decision and output layers local) on ratings with the user-bias step and on implicit feedback.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createModel, initBackend, MELU_LOCAL_GROUPS, metaTrain, useNativeKernels } from '../src';
import { fusedKernelsActive } from '../src/ops';
import { buildRatedSet, disposeRatedSet } from '../src/model/batch';
import { inputsFor, innerLoop } from '../src/model/inner';
import { expectNoTensorGrowth, makeWorld } from './fixtures';

const built = useNativeKernels('cpu').active;
const required = process.env.WARMSTART_REQUIRE_NATIVE_KERNELS === '1';
if (!built && !required) console.warn('fused-steps.spec: skipped: the native addon is not built');
const describeNative = built || required ? describe : describe.skip;

describeNative.each(['rating', 'implicit'] as const)('fused inner-loop steps (%s)', (task) => {
  beforeAll(async () => {
    await initBackend({ prefer: 'cpu' });
    expect(fusedKernelsActive()).toBe(true);
  });

  it('adapt MeLU to the same parameters as the plain inner loop', async () => {
    const world = makeWorld(4, 12, 20, 10);
    const model = createModel(world.spec, {
      embeddingDim: 4,
      hidden: [8, 6],
      seed: 3,
      task,
      localGroups: MELU_LOCAL_GROUPS,
      userBiasShrinkage: task === 'rating' ? 2 : null,
    });
    await metaTrain(model, world.tasks, world.catalog, {
      algorithm: 'maml',
      metaBatchSize: 4,
      innerSteps: 2,
      seed: 1,
    });
    const tasks = world.tasks.slice(0, 5);
    const support = buildRatedSet(
      model,
      tasks.map((t) => t.support),
      world.catalog,
      { path: 'tasks', list: 'support' },
    );
    const userX = model.encodeUsers(tasks.map((t) => t.user));
    const l = model.layout;
    const run = (releaseSteps: boolean) =>
      tf.tidy(() => {
        const global = model.globals();
        const inp = inputsFor(l, global, userX, support);
        return innerLoop(l, global, model.localNames(), inp, support, model.globalMean, {
          steps: 3,
          lr: 0.05,
          releaseSteps, // the serving path, where the fused kernels apply
          collapseUserRows: true,
        });
      });
    const plain = run(false);
    const fused = run(true);
    expect(Object.keys(fused).sort()).toEqual(Object.keys(plain).sort());
    expect(Object.keys(fused)).toEqual(expect.arrayContaining(['dec.0.w', 'dec.1.w', 'out.w']));
    for (const name of Object.keys(plain)) {
      const [p, f] = [plain[name], fused[name]];
      expect(f.shape).toEqual(p.shape);
      const moved = tf.tidy(
        () => tf.max(tf.abs(tf.sub(p, tf.expandDims(model.globals()[name] ?? p, 0)))).dataSync()[0],
      );
      const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(p, f))).dataSync()[0]);
      expect(diff).toBeLessThan(1e-4 * Math.max(1, moved));
    }
    // The steps moved the first layer's item rows, so the Gram path was exercised.
    const movedW0 = tf.tidy(
      () => tf.max(tf.abs(tf.sub(fused['dec.0.w'], model.globals()['dec.0.w']))).dataSync()[0],
    );
    expect(movedW0).toBeGreaterThan(1e-4);
    tf.dispose([...Object.values(plain), ...Object.values(fused)]);
    expectNoTensorGrowth(() => tf.dispose(Object.values(run(true))), 3);
    disposeRatedSet(support);
    userX.dispose();
    model.dispose();
  });
});
