import * as tf from '@tensorflow/tfjs-core';
import {
  adapt,
  createModel,
  initBackend,
  mae,
  metaTrain,
  score,
  type Task,
  type TrainProgress,
} from '../src';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(3, 40, 30, 12);
const cfg = { embeddingDim: 4, hidden: [8, 8], seed: 2 };

function weightsOf(model: ReturnType<typeof createModel>): number[] {
  return Object.values(model.params).flatMap((v) => Array.from(v.dataSync()));
}

async function train(seed: number, algorithm: 'maml' | 'reptile' | 'fomaml' | 'meta-sgd' | 'melu' = 'maml') {
  const model = createModel(world.spec, cfg);
  const result = await metaTrain(model, world.tasks, world.catalog, {
    algorithm,
    innerSteps: 2,
    innerLr: 0.05,
    outerLr: 0.01,
    metaBatchSize: 8,
    epochs: 2,
    seed,
  });
  return { model, result };
}

/** Query MAE after adaptation, averaged over tasks. */
function queryMae(model: ReturnType<typeof createModel>, tasks: Task[]): number {
  const a = adapt(model, tasks, world.catalog);
  let sum = 0;
  tasks.forEach((t, i) => {
    const enc = model.encodeItems(t.query.map((r) => world.catalog.get(r.itemId)!));
    sum += mae(
      score(a, i, enc),
      t.query.map((r) => r.value),
    );
    enc.dispose();
  });
  a.dispose();
  return sum / tasks.length;
}

describe('metaTrain', () => {
  it('is reproducible for a seed and differs across seeds', async () => {
    const a = await train(1);
    const b = await train(1);
    const c = await train(2);
    expect(a.result.lossHistory).toEqual(b.result.lossHistory);
    expect(weightsOf(a.model)).toEqual(weightsOf(b.model));
    expect(c.result.lossHistory).not.toEqual(a.result.lossHistory);
    for (const x of [a, b, c]) x.model.dispose();
  });

  it.each(['maml', 'fomaml', 'reptile', 'meta-sgd', 'melu'] as const)(
    '%s lowers the query error',
    async (algo) => {
      const fresh = createModel(world.spec, { ...cfg, globalMean: 3 });
      const before = queryMae(fresh, world.tasks);
      fresh.dispose();
      const model = createModel(world.spec, { ...cfg, globalMean: 3 });
      const r = await metaTrain(model, world.tasks, world.catalog, {
        algorithm: algo,
        innerSteps: 2,
        innerLr: 0.05,
        outerLr: 0.01,
        metaBatchSize: 8,
        epochs: 6,
        seed: 4,
      });
      expect(r.metaBatches).toBe(30);
      expect(queryMae(model, world.tasks)).toBeLessThan(before);
      if (algo === 'meta-sgd') expect(model.innerLrs).not.toBeNull();
      model.dispose();
    },
  );

  it('reports progress, accepts async streams and stops cleanly on abort', async () => {
    const model = createModel(world.spec, cfg);
    async function* stream() {
      for (const t of world.tasks) yield t;
    }
    const seen: TrainProgress[] = [];
    const ctl = new AbortController();
    const numTensors = tf.memory().numTensors;
    const r = await metaTrain(
      model,
      stream,
      world.catalog,
      { metaBatchSize: 4, epochs: 3, innerSteps: 1 },
      (p) => {
        seen.push(p);
        if (p.metaBatch === 3) ctl.abort();
      },
      ctl.signal,
    );
    expect(r.aborted).toBe(true);
    expect(r.metaBatches).toBe(3);
    expect(seen.map((p) => p.metaBatch)).toEqual([1, 2, 3]);
    expect(seen[2].tasks).toBe(12);
    expect(model.training?.metaBatches).toBe(3);
    // No tensors leak from training (the Adam state is disposed).
    expect(tf.memory().numTensors).toBe(numTensors);
    model.dispose();
  });

  it('names the bad option or task field', async () => {
    const model = createModel(world.spec, cfg);
    await expect(metaTrain(model, world.tasks, world.catalog, { innerLr: -1 })).rejects.toThrow(
      /options\.innerLr/,
    );
    await expect(
      metaTrain(model, world.tasks, world.catalog, { algorithm: 'nope' as never }),
    ).rejects.toThrow(/options\.algorithm/);
    const bad = [{ ...world.tasks[0], query: [{ itemId: 'zzz', value: 4 }] }];
    await expect(metaTrain(model, bad, world.catalog, { metaBatchSize: 1 })).rejects.toThrow(
      /tasks\[0\]\.query\[0\]\.itemId: unknown item "zzz"/,
    );
    await expect(metaTrain(model, [], world.catalog)).rejects.toThrow(/tasks: yielded no tasks/);
    model.dispose();
  });
});
