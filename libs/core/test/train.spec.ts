import * as tf from '@tensorflow/tfjs-core';
import {
  adapt,
  createModel,
  initBackend,
  mae,
  metaTrain,
  score,
  type ModelSnapshot,
  type Task,
  type TrainProgress,
} from '../src';
import { nonFiniteGradient } from '../src/meta/train';
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

  describe('divergence', () => {
    // A finite rating far off the scale: its squared error overflows float32, so the meta-batch
    // holding it has an infinite (or NaN) loss, while the value itself passes task validation.
    const poisoned = (t: Task): Task => ({
      ...t,
      query: [{ ...t.query[0], value: 1e30 }, ...t.query.slice(1)],
    });

    for (const algorithm of ['maml', 'meta-sgd'] as const) {
      it(`leaves the model untouched when the first meta-batch diverges (${algorithm})`, async () => {
        const model = createModel(world.spec, cfg);
        const before: ModelSnapshot = model.snapshot();
        const memory = tf.memory().numTensors;
        // Absurd inner learning rate: the adapted parameters (and the query loss) blow up.
        await expect(
          metaTrain(model, world.tasks.slice(0, 8), world.catalog, {
            algorithm,
            innerSteps: 2,
            innerLr: 1e30,
            metaBatchSize: 8,
          }),
        ).rejects.toThrow(/meta-training diverged at meta-batch 1 \((loss|gradient)/);
        expect(model.snapshot()).toEqual(before); // weights, rates (none) and global mean
        expect(model.version).toBe(0);
        expect(model.meanFitted).toBe(false);
        expect(model.innerLrs).toBeNull();
        expect(tf.memory().numTensors).toBe(memory);
        model.dispose();
      });
    }

    it('keeps the last finite update when a later meta-batch diverges', async () => {
      const model = createModel(world.spec, cfg);
      const tasks = [...world.tasks.slice(0, 8), poisoned(world.tasks[8]), ...world.tasks.slice(9, 16)];
      let last: ModelSnapshot | null = null;
      let version = -1;
      await expect(
        metaTrain(model, tasks, world.catalog, { metaBatchSize: 4, shuffleBuffer: 1, innerSteps: 1 }, () => {
          last = model.snapshot();
          version = model.version;
        }),
      ).rejects.toThrow(/diverged at meta-batch 3 \(loss (Infinity|NaN)\)/);
      expect(version).toBe(2); // two good meta-batches (shuffleBuffer 1 keeps the order)
      expect(model.version).toBe(version);
      const after = model.snapshot();
      expect(after).toEqual(last);
      for (const v of after.params.values()) expect(v.every(Number.isFinite)).toBe(true);
      model.dispose();
    });

    it('finds a non-finite gradient', () => {
      const g = {
        a: tf.tensor([1, 2, 3]),
        b: tf.tensor([[0, -1e30]]),
        c: tf.tensor([1, NaN]),
        d: tf.tensor([Infinity]),
      };
      expect(nonFiniteGradient(g)).toBe('c');
      expect(nonFiniteGradient({ a: g.a, b: g.b, d: g.d })).toBe('d');
      expect(nonFiniteGradient({ a: g.a, b: g.b })).toBeNull();
      expect(nonFiniteGradient({})).toBeNull();
      tf.dispose(Object.values(g));
    });
  });
});
