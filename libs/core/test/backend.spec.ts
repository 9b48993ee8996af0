import * as tf from '@tensorflow/tfjs-core';
import { adapt, createModel, currentBackend, initBackend, metaTrain, score } from '../src';
import { makeWorld } from './fixtures';

describe('backend selection', () => {
  const saved = process.env.WARMSTART_BACKEND;
  afterEach(() => {
    if (saved === undefined) delete process.env.WARMSTART_BACKEND;
    else process.env.WARMSTART_BACKEND = saved;
  });
  afterAll(async () => {
    await initBackend({ prefer: 'cpu' });
  });

  it('falls back from tfjs-node-gpu and tfjs-node to wasm when they do not load', async () => {
    delete process.env.WARMSTART_BACKEND;
    const tried: string[] = [];
    const choice = await initBackend({
      load: (m) => {
        tried.push(m);
        throw new Error(`Cannot find module '${m}'`);
      },
    });
    expect(tried).toEqual(['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']);
    expect(choice.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(choice.skipped.map((s) => s.name)).toEqual(['tensorflow-gpu', 'tensorflow']);
    expect(choice.skipped[0].reason).toMatch(/Cannot find module/);
    expect(currentBackend()).toEqual(choice);
    // wasm really computes.
    expect(Array.from(tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync())).toEqual([11]);
  });

  it('honours WARMSTART_BACKEND and rejects unknown names', async () => {
    process.env.WARMSTART_BACKEND = 'cpu';
    expect((await initBackend()).name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    process.env.WARMSTART_BACKEND = 'tpu';
    await expect(initBackend()).rejects.toThrow(/WARMSTART_BACKEND: unknown backend "tpu"/);
  });

  it('fails clearly when a forced backend is unavailable', async () => {
    await expect(
      initBackend({
        prefer: 'tensorflow',
        load: () => {
          throw new Error('libtensorflow missing');
        },
      }),
    ).rejects.toThrow(/no usable TensorFlow.js backend \(tensorflow: libtensorflow missing\)/);
  });

  it('gives the same adapted predictions and meta-training on wasm as on cpu', async () => {
    const world = makeWorld(2, 8, 20, 8);
    const run = async (prefer: string) => {
      await initBackend({ prefer });
      const model = createModel(world.spec, { embeddingDim: 4, hidden: [8, 8], seed: 9 });
      await metaTrain(model, world.tasks, world.catalog, { metaBatchSize: 4, innerSteps: 2, seed: 1 });
      const a = adapt(model, world.tasks.slice(0, 3), world.catalog, { steps: 3 });
      const items = model.encodeItems(world.items);
      const out = [0, 1, 2].map((i) => Array.from(score(a, i, items)));
      a.dispose();
      items.dispose();
      model.dispose();
      return out.flat();
    };
    const wasm = await run('wasm');
    const cpu = await run('cpu');
    wasm.forEach((v, i) => expect(v).toBeCloseTo(cpu[i], 3));
  });

  it('meta-trains and adapts through the closed-form ridge head alike on wasm and cpu', async () => {
    const world = makeWorld(4, 8, 20, 8);
    const run = async (prefer: string) => {
      await initBackend({ prefer });
      const model = createModel(world.spec, {
        embeddingDim: 4,
        hidden: [8, 8],
        seed: 9,
        userBiasShrinkage: 1,
      });
      const r = await metaTrain(model, world.tasks, world.catalog, {
        algorithm: 'anil',
        innerRidge: 2,
        metaBatchSize: 4,
        seed: 1,
      });
      const a = adapt(model, world.tasks.slice(0, 3), world.catalog);
      const items = model.encodeItems(world.items);
      const out = [0, 1, 2].map((i) => Array.from(score(a, i, items)));
      a.dispose();
      items.dispose();
      model.dispose();
      return [...r.lossHistory, ...out.flat()];
    };
    const wasm = await run('wasm');
    const cpu = await run('cpu');
    wasm.forEach((v, i) => expect(v).toBeCloseTo(cpu[i], 3));
  });
});
