/**
 * Implicit feedback with sampled negatives: the BPR loss, the negative pool (distributions,
 * exclusions, seeding, serialisation), meta-training (ranking loss, seeded), adaptation on
 * positives plus sampled negatives (steps and the closed-form head), and artifacts.
 * The meta-gradients through the BPR loss are checked against finite differences in
 * gradients.spec.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  adapt,
  ArtifactError,
  auc,
  buildNegativePool,
  createModel,
  initBackend,
  loadModel,
  metaTrain,
  NegativePool,
  saveModel,
  score,
  scoreBatch,
  ValidationError,
  type ModelConfig,
  type Task,
} from '../src';
import { bprPerUser } from '../src/model/bpr';
import { requestSeed } from '../src/negatives/augment';
import { Rng } from '../src/rng';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

// Positives only: the items a user rated 4 or 5 (the rest is "not interacted").
const world = makeWorld(21, 40, 40, 24);
const tasks: Task[] = world.tasks.map((t) => ({
  user: t.user,
  support: t.support.filter((r) => r.value >= 4).map((r) => ({ itemId: r.itemId, value: 1 })),
  query: t.query.filter((r) => r.value >= 4).map((r) => ({ itemId: r.itemId, value: 1 })),
}));
const sampling = { perPositive: 4, distribution: 'popularity' as const };

function ranker(extra: Partial<ModelConfig> = {}) {
  return createModel(world.spec, {
    task: 'implicit',
    negatives: sampling,
    embeddingDim: 4,
    hidden: [8, 6],
    seed: 4,
    localGroups: ['output'],
    idEmbeddings: { itemIds: world.items.slice(0, 30).map((i) => i.id) },
    ...extra,
  });
}

describe('bprPerUser', () => {
  it('is the mean of softplus(s_neg - s_pos) over each user’s pairs (hand-computed)', () => {
    const pos = tf.tensor2d([
      [2, 0],
      [1, 0],
    ]);
    const neg = tf.tensor2d([
      [1, 0.5, 3],
      [0, 0, 0],
    ]);
    // User 0: negatives 0 and 1 belong to positive 0, negative 2 to positive 1; user 1 has no pairs.
    const pair = tf.tensor3d([
      [
        [1, 0],
        [1, 0],
        [0, 1],
      ],
      [
        [1, 0],
        [0, 0],
        [0, 0],
      ],
    ]);
    const mask = tf.tensor2d([
      [1, 1, 1],
      [0, 0, 0],
    ]);
    const sp = (x: number) => Math.log(1 + Math.exp(x));
    const loss = bprPerUser(pos, neg, pair, mask).arraySync();
    expect(loss[0]).toBeCloseTo((sp(1 - 2) + sp(0.5 - 2) + sp(3 - 0)) / 3, 5);
    expect(loss[1]).toBe(0);
    tf.dispose([pos, neg, pair, mask]);
  });

  it('has the gradient of its finite differences', () => {
    const rng = new Rng(3);
    const pos = Array.from({ length: 2 * 3 }, () => rng.normal());
    const neg = Array.from({ length: 2 * 5 }, () => rng.normal());
    const pairOf = [
      [0, 0, 1, 2, 2],
      [1, 1, 0, 0, 2],
    ];
    const pair = tf.tensor3d(pairOf.map((row) => row.map((j) => [0, 1, 2].map((q) => Number(q === j)))));
    const mask = tf.tensor2d([
      [1, 1, 1, 1, 0],
      [1, 1, 1, 1, 1],
    ]);
    const f = (p: number[], n: number[]) =>
      tf.tidy(
        () => tf.sum(bprPerUser(tf.tensor2d(p, [2, 3]), tf.tensor2d(n, [2, 5]), pair, mask)).dataSync()[0],
      );
    const [gp, gn] = tf.grads((p: tf.Tensor, n: tf.Tensor) =>
      tf.sum(bprPerUser(p as tf.Tensor2D, n as tf.Tensor2D, pair, mask)),
    )([tf.tensor2d(pos, [2, 3]), tf.tensor2d(neg, [2, 5])]);
    const eps = 1e-2;
    const check = (values: number[], grad: Float32Array | Int32Array | Uint8Array, which: 0 | 1) =>
      values.forEach((_, i) => {
        const up = [...values];
        const down = [...values];
        up[i] += eps;
        down[i] -= eps;
        const fd =
          which === 0 ? (f(up, neg) - f(down, neg)) / (2 * eps) : (f(pos, up) - f(pos, down)) / (2 * eps);
        expect(grad[i]).toBeCloseTo(fd, 3);
      });
    check(pos, gp.dataSync(), 0);
    check(neg, gn.dataSync(), 1);
    // The masked negative has no gradient.
    expect(gn.dataSync()[4]).toBe(0);
    tf.dispose([pair, mask, gp, gn]);
  });
});

describe('NegativePool', () => {
  const ids = ['a', 'b', 'c', 'd'];
  const pool = (weights: number[]) =>
    new NegativePool('popularity', ids, Float64Array.from(weights), new Float32Array(ids.length * 2), 2);

  it('draws by weight, never an excluded id, the same draws from the same seed', () => {
    const p = pool([1, 2, 3, 4]);
    const draws = p.sample(new Rng(1), 20000, new Set(['a']));
    expect(draws).toHaveLength(20000);
    expect(draws.includes('a')).toBe(false);
    // Without a the probabilities are 2/9, 3/9, 4/9.
    ['b', 'c', 'd'].forEach((id, i) =>
      expect(draws.filter((x) => x === id).length / 20000).toBeCloseTo((i + 2) / 9, 1),
    );
    expect(p.sample(new Rng(5), 50, new Set())).toEqual(p.sample(new Rng(5), 50, new Set()));
    expect(p.sample(new Rng(5), 50, new Set())).not.toEqual(p.sample(new Rng(6), 50, new Set()));
    // A user who has every item gets no negatives rather than a loop.
    expect(p.sample(new Rng(1), 10, new Set(ids))).toEqual([]);
  });

  it('round-trips through JSON and names what is wrong in a bad one', () => {
    const p = pool([1, 2, 3, 4]);
    p.rows.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const back = NegativePool.fromJSON(JSON.parse(JSON.stringify(p.toJSON())), 2);
    expect(back.ids).toEqual(ids);
    expect(Array.from(back.rows)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(back.weights)).toEqual([1, 2, 3, 4]);
    const json = p.toJSON();
    expect(() => NegativePool.fromJSON(json, 3)).toThrow(/negatives\.width/);
    expect(() => NegativePool.fromJSON({ ...json, weights: [1, 2, 0, 4] }, 2)).toThrow(
      /negatives\.weights\[2\]/,
    );
    expect(() => NegativePool.fromJSON({ ...json, ids: ['a', 'a', 'b', 'c'] }, 2)).toThrow(/duplicate/);
    expect(() => NegativePool.fromJSON({ ...json, distribution: 'zipf' as never }, 2)).toThrow(
      /negatives\.distribution/,
    );
    expect(() => NegativePool.fromJSON({ ...json, rows: 'AAAA' }, 2)).toThrow(/negatives\.rows/);
  });
});

describe('buildNegativePool', () => {
  it('weights each positively seen item by count^0.75 (popularity) or 1 (uniform)', () => {
    const m = ranker();
    const pool = buildNegativePool(m, tasks, world.catalog);
    expect(m.negativePool).toBe(pool);
    const counts = new Map<string, number>();
    for (const t of tasks)
      for (const r of [...t.support, ...t.query]) counts.set(r.itemId, (counts.get(r.itemId) ?? 0) + 1);
    expect([...pool.ids].sort()).toEqual([...counts.keys()].sort());
    pool.ids.forEach((id, i) => expect(pool.weights[i]).toBeCloseTo(counts.get(id)! ** 0.75, 6));
    const uniform = buildNegativePool(m, tasks, world.catalog, { distribution: 'uniform' });
    expect(Array.from(uniform.weights).every((w) => w === 1)).toBe(true);
    // A capped pool keeps at most maxItems items, weighted by how often each was drawn.
    const capped = buildNegativePool(m, tasks, world.catalog, { maxItems: 10, seed: 2 });
    expect(capped.size).toBeLessThanOrEqual(10);
    expect(Array.from(capped.weights).reduce((a, b) => a + b, 0)).toBe(10);
    expect(() => buildNegativePool(m, tasks, world.catalog, { maxItems: 0 })).toThrow(/options\.maxItems/);
    m.dispose();
  });

  it('is refused on models that do not sample negatives, through config validation', () => {
    expect(() => createModel(world.spec, { negatives: sampling })).toThrow(/config\.negatives/);
    expect(() =>
      createModel(world.spec, { task: 'implicit', negatives: { perPositive: 0, distribution: 'uniform' } }),
    ).toThrow(/config\.negatives\.perPositive/);
    expect(() =>
      createModel(world.spec, {
        task: 'implicit',
        negatives: { perPositive: 2, distribution: 'x' as never },
      }),
    ).toThrow(/config\.negatives\.distribution/);
  });
});

/** AUC of each held-out positive against the items the user never interacted with, averaged. */
function heldOutAuc(m: ReturnType<typeof ranker>, how: { ridge?: number | null; steps?: number }) {
  const users = tasks.filter((t) => t.query.length > 0 && t.support.length > 0).slice(0, 30);
  const items = m.encodeItems(world.items);
  const adapted = adapt(m, users, world.catalog, how);
  let sum = 0;
  users.forEach((t, u) => {
    const s = score(adapted, u, items);
    const seen = new Set(t.support.map((r) => r.itemId));
    const positive = new Set(t.query.map((r) => r.itemId));
    const keep = world.items.map((_, i) => i).filter((i) => !seen.has(world.items[i].id));
    sum += auc(
      keep.map((i) => s[i]),
      keep.map((i) => Number(positive.has(world.items[i].id))),
    );
  });
  adapted.dispose();
  items.dispose();
  return sum / users.length;
}

describe('meta-training with sampled negatives', () => {
  const train = (m: ReturnType<typeof ranker>, seed: number, innerRidge: number | null = null) =>
    metaTrain(m, tasks, world.catalog, {
      algorithm: 'anil',
      innerSteps: 2,
      innerLr: 0.3,
      innerRidge,
      epochs: 8,
      metaBatchSize: 8,
      outerLr: 0.02,
      seed,
    });

  it('learns to rank held-out positives (steps and the closed-form head) and builds the pool', async () => {
    for (const ridge of [null, 3]) {
      const m = ranker();
      buildNegativePool(m, tasks, world.catalog);
      const before = heldOutAuc(m, { ridge, steps: 2 });
      const result = await train(m, 1, ridge);
      expect(m.negativePool?.size).toBeGreaterThan(10);
      expect(result.epochLoss[result.epochLoss.length - 1]).toBeLessThan(result.epochLoss[0]);
      const after = heldOutAuc(m, { ridge, steps: 2 });
      expect(after).toBeGreaterThan(0.65);
      expect(after).toBeGreaterThan(before + 0.05);
      m.dispose();
    }
  });

  it('gives the same weights from the same seed and different ones from another', async () => {
    const weights = async (seed: number) => {
      const m = ranker();
      await train(m, seed);
      const w = Array.from(m.params['dec.0.w'].dataSync());
      m.dispose();
      return w;
    };
    const a = await weights(3);
    expect(await weights(3)).toEqual(a);
    expect(await weights(4)).not.toEqual(a);
  });

  it('asks for the pool when the tasks are a one-shot stream', async () => {
    const m = ranker();
    function* stream() {
      yield* tasks;
    }
    await expect(metaTrain(m, stream(), world.catalog, { algorithm: 'anil' })).rejects.toThrow(
      ValidationError,
    );
    buildNegativePool(m, tasks, world.catalog);
    await expect(
      metaTrain(m, stream(), world.catalog, { algorithm: 'anil', epochs: 1 }),
    ).resolves.toBeDefined();
    m.dispose();
  });
});

describe('adapting an implicit user on positives plus sampled negatives', () => {
  const requests = tasks.slice(0, 5).map((t, i) => ({ user: t.user, support: t.support.slice(0, i + 1) }));

  async function trained() {
    const m = ranker();
    await metaTrain(m, tasks, world.catalog, {
      algorithm: 'anil',
      innerSteps: 2,
      innerLr: 0.3,
      epochs: 2,
      metaBatchSize: 8,
      outerLr: 0.02,
    });
    return m;
  }

  it('is deterministic per request, batched equals one at a time, and the negatives matter', async () => {
    const m = await trained();
    const items = m.encodeItems(world.items);
    for (const how of [{ steps: 2 }, { ridge: 3 }]) {
      const batched = adapt(m, requests, world.catalog, how);
      const all = scoreBatch(batched, [0, 1, 2, 3, 4], items);
      requests.forEach((req, i) => {
        const one = adapt(m, [req], world.catalog, how);
        score(one, 0, items).forEach((v, j) => expect(all[i * items.size + j]).toBeCloseTo(v, 4));
        one.dispose();
      });
      // Ranking scores are raw logits (not squashed into (0, 1)).
      const none = adapt(m, requests, world.catalog, { ...how, negatives: 0 });
      const diff = score(none, 4, items).map((v, j) => Math.abs(v - all[4 * items.size + j]));
      expect(Math.max(...diff)).toBeGreaterThan(1e-3);
      // Another seed draws other negatives.
      const other = adapt(m, requests, world.catalog, { ...how, seed: 9 });
      const moved = score(other, 4, items).map((v, j) => Math.abs(v - all[4 * items.size + j]));
      expect(Math.max(...moved)).toBeGreaterThan(1e-5);
      batched.dispose();
      none.dispose();
      other.dispose();
    }
    expect(requestSeed(0, 'u', requests[1].support)).toBe(requestSeed(0, 'u', requests[1].support));
    expect(requestSeed(0, 'u', requests[1].support)).not.toBe(requestSeed(1, 'u', requests[1].support));
    expect(() => adapt(m, requests, world.catalog, { negatives: -1 })).toThrow(/options\.negatives/);
    items.dispose();
    m.dispose();
  });

  it('needs the pool, and the catalog only for the support items', async () => {
    const m = await trained();
    // Serving passes only the support items: negatives come from the pool's own rows.
    const supportOnly = new Map(requests[2].support.map((r) => [r.itemId, world.catalog.get(r.itemId)!]));
    const a = adapt(m, [requests[2]], supportOnly);
    const b = adapt(m, [requests[2]], world.catalog);
    expect(Array.from(a.local['out.w'].dataSync())).toEqual(Array.from(b.local['out.w'].dataSync()));
    a.dispose();
    b.dispose();
    m.negativePool = null;
    expect(() => adapt(m, requests, world.catalog)).toThrow(/negative pool/);
    m.dispose();
  });

  it('round-trips the pool through artifacts and names a damaged one', async () => {
    const m = await trained();
    const root = mkdtempSync(join(tmpdir(), 'warmstart-implicit-'));
    try {
      await saveModel(m, join(root, 'a'));
      const loaded = await loadModel(join(root, 'a'));
      expect(loaded.config.negatives).toEqual(sampling);
      expect(loaded.negativePool?.ids).toEqual(m.negativePool?.ids);
      const items = m.encodeItems(world.items);
      const loadedItems = loaded.encodeItems(world.items);
      const x = adapt(m, requests, world.catalog);
      const y = adapt(loaded, requests, world.catalog);
      score(y, 3, loadedItems).forEach((v, j) => expect(v).toBeCloseTo(score(x, 3, items)[j], 5));
      x.dispose();
      y.dispose();
      items.dispose();
      loadedItems.dispose();
      loaded.dispose();
      // A damaged pool file is caught by its checksum.
      const file = join(root, 'a', 'negatives.json');
      writeFileSync(file, readFileSync(file, 'utf8').replace('"popularity"', '"uniform"   '));
      await expect(loadModel(join(root, 'a'))).rejects.toThrow(ArtifactError);
      await expect(loadModel(join(root, 'a'))).rejects.toThrow(/negatives\.json/);
    } finally {
      m.dispose();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
