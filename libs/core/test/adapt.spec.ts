import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../src/rng';
import {
  adapt,
  ANIL_LOCAL_GROUPS,
  createModel,
  initBackend,
  MELU_LOCAL_GROUPS,
  metaTrain,
  recommend,
  score,
  scoreBatch,
  ValidationError,
  type AdaptOptions,
  type ModelConfig,
} from '../src';
import { expectNoTensorGrowth, makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

describe('adapt / score / recommend', () => {
  const world = makeWorld();
  const cfg = { embeddingDim: 4, hidden: [8, 6], seed: 3 };

  it('batched adaptation equals one user at a time', () => {
    const model = createModel(world.spec, cfg);
    const reqs = world.tasks
      .slice(0, 5)
      .map((t, i) => ({ user: t.user, support: t.support.slice(0, 2 + i) }));
    const items = model.encodeItems(world.items);
    const batched = adapt(model, reqs, world.catalog, { steps: 3, lr: 0.05 });
    reqs.forEach((r, i) => {
      const single = adapt(model, [r], world.catalog, { steps: 3, lr: 0.05 });
      const a = score(batched, i, items);
      const b = score(single, 0, items);
      for (let j = 0; j < a.length; j++) expect(a[j]).toBeCloseTo(b[j], 4);
      single.dispose();
    });
    batched.dispose();
    items.dispose();
    model.dispose();
  });

  it('user(i) copies one user out of a batch: same scores, its own tensors, its share of the bytes', () => {
    for (const localGroups of [MELU_LOCAL_GROUPS, ANIL_LOCAL_GROUPS]) {
      const model = createModel(world.spec, { ...cfg, localGroups: [...localGroups] });
      const reqs = world.tasks.slice(0, 4).map((t) => ({ user: t.user, support: t.support.slice(0, 5) }));
      const items = model.encodeItems(world.items);
      const batch = adapt(model, reqs, world.catalog, { steps: 2, lr: 0.05 });
      const expected = reqs.map((_, i) => score(batch, i, items));
      const ones = reqs.map((_, i) => batch.user(i));
      ones.forEach((one, i) => {
        expect(one.size).toBe(1);
        expect(one.userIds).toEqual([batch.userIds[i]]);
        expect(one.bytes * batch.size).toBe(batch.bytes);
      });
      // The copies outlive the batch they came from.
      batch.dispose();
      ones.forEach((one, i) =>
        expect(Array.from(score(one, 0, items))).toEqual(Array.from(expected[i] ?? [])),
      );
      expect(() => batch.user(0)).toThrow(/disposed/);
      ones.forEach((one) => one.dispose());
      items.dispose();
      model.dispose();
    }
    const model = createModel(world.spec, cfg);
    const batch = adapt(model, [{ user: world.tasks[0]!.user, support: [] }], world.catalog);
    expect(() => batch.user(1)).toThrow(RangeError);
    expectNoTensorGrowth(() => batch.user(0).dispose());
    batch.dispose();
    model.dispose();
  });

  it('adaptation changes predictions towards the support ratings', () => {
    const model = createModel(world.spec, { ...cfg, localGroups: ['decision', 'output', 'embeddings'] });
    const t = world.tasks[0];
    const sup = world.items.filter((i) => t.support.some((r) => r.itemId === i.id));
    const items = model.encodeItems(sup);
    const y = sup.map((i) => t.support.find((r) => r.itemId === i.id)!.value);
    const err = (steps: number) => {
      const a = adapt(model, [{ user: t.user, support: t.support }], world.catalog, { steps, lr: 0.05 });
      const p = score(a, 0, items);
      a.dispose();
      return y.reduce((s, v, i) => s + (p[i] - v) ** 2, 0);
    };
    expect(err(20)).toBeLessThan(err(0) * 0.7);
    items.dispose();
    model.dispose();
  });

  it('reuses encoded support rows per item record, and encodes a changed record afresh', () => {
    const model = createModel(world.spec, cfg);
    const t = world.tasks[0];
    const items = model.encodeItems(world.items);
    const run = (catalog: typeof world.catalog) => {
      const a = adapt(model, [{ user: t.user, support: t.support }], catalog, { steps: 2, lr: 0.1 });
      const s = score(a, 0, items);
      a.dispose();
      return s;
    };
    const first = run(world.catalog);
    const target = world.catalog.get(t.support[0].itemId)!;
    expect(model.supportRows.has(target)).toBe(true);
    expect(Array.from(run(world.catalog))).toEqual(Array.from(first));
    // Same id, different features: a new record, so a new row (and a different adaptation).
    const changed = new Map(world.catalog);
    changed.set(target.id, { ...target, features: { ...target.features, genres: [], year: 1950 } });
    const after = run(changed);
    expect(Array.from(after)).not.toEqual(Array.from(first));
    items.dispose();
    model.dispose();
  });

  it('does not grow tensor memory across repeated adapt/score calls', () => {
    const model = createModel(world.spec, cfg);
    const items = model.encodeItems(world.items);
    expectNoTensorGrowth(() => {
      const a = adapt(model, world.tasks.slice(0, 3), world.catalog, { steps: 2 });
      recommend(a, 1, items, 5);
      a.dispose();
    });
    items.dispose();
    model.dispose();
  });

  it('recommends the top k, excluding seen items, clamped to the rating range', () => {
    const model = createModel(world.spec, cfg);
    const items = model.encodeItems(world.items);
    const a = adapt(model, [world.tasks[0]], world.catalog);
    const all = score(a, 0, items);
    for (const v of all) expect(v >= 1 && v <= 5).toBe(true);
    const exclude = new Set(['i0', 'i1']);
    const top = recommend(a, 0, items, 4, exclude);
    expect(top).toHaveLength(4);
    expect(top.some((r) => exclude.has(r.itemId))).toBe(false);
    const best = [...all.keys()]
      .filter((i) => !exclude.has(`i${i}`))
      .sort((x, y) => all[y] - all[x] || x - y);
    expect(top.map((r) => r.itemId)).toEqual(best.slice(0, 4).map((i) => `i${i}`));
    a.dispose();
    items.dispose();
    model.dispose();
  });

  it('names the bad field in errors', () => {
    const model = createModel(world.spec, cfg);
    const t = world.tasks[0];
    expect(() =>
      adapt(model, [{ user: t.user, support: [{ itemId: 'nope', value: 3 }] }], world.catalog),
    ).toThrow(/requests\[0\]\.support\[0\]\.itemId: unknown item "nope"/);
    expect(() =>
      adapt(model, [{ user: t.user, support: [{ itemId: 'i1', value: NaN }] }], world.catalog),
    ).toThrow(ValidationError);
    expect(() => adapt(model, [], world.catalog)).toThrow(/requests/);
    // A missing or non-array support set, anywhere in the batch: a ValidationError naming it.
    const ok = { user: t.user, support: t.support };
    for (const bad of [null, undefined, 'i1', { length: 1 }]) {
      const reqs = [ok, ok, ok, { user: t.user, support: bad as unknown as typeof t.support }];
      let err: unknown;
      try {
        adapt(model, reqs, world.catalog);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe('requests[3].support');
    }
    model.dispose();
  });
});

/**
 * Batched adaptation against one user at a time, for every kind of configuration the model
 * allows: which groups adapt (embeddings included), learned Meta-SGD rates, ID embeddings with the
 * generator (support and scored items both warm and cold), implicit feedback, the user-bias step
 * and the ridge head. Users have support sets of different lengths (one empty), so padding and
 * masking are exercised. Models are meta-trained for two meta-batches first, so weights (and
 * Meta-SGD rates) are off their initial values.
 *
 * Tolerance: the two paths differ only in float32 summation order (batched matMuls, padded rows
 * that contribute exact zeros), about 1e-7 relative per operation; after 3 steps predictions on
 * the 1..5 scale (or probabilities) agreed to ~1e-6 here, so 5e-5 absolute has a wide margin while
 * any real mix-up between users or padded rows moves predictions by far more (checked: adapting
 * moves them by > 1e-3).
 */
describe('batched adaptation equals one user at a time, per configuration', () => {
  const world = makeWorld(4, 16, 20, 12);
  const warmIds = world.items.slice(0, 10).map((i) => i.id);
  const id = { idEmbeddings: { itemIds: warmIds, dim: 3 } };
  // Warm-user ID embeddings: users 1 and 4 of the adapted batch are cold (row 0 of id.user).
  const coldUsers = [world.users[1].id, world.users[4].id];
  const warmUsers = world.users.map((u) => u.id).filter((u) => !coldUsers.includes(u));
  const uid = { idEmbeddings: { itemIds: warmIds, dim: 3, userIds: warmUsers } };
  const all: ModelConfig['localGroups'] = ['embeddings', 'decision', 'output'];
  const cases: [string, Partial<ModelConfig>, 'maml' | 'meta-sgd', AdaptOptions][] = [
    ['MeLU, Meta-SGD learned rates', { localGroups: MELU_LOCAL_GROUPS }, 'meta-sgd', {}],
    ['embeddings adapted per user', { localGroups: all }, 'maml', { lr: 0.05 }],
    ['embeddings adapted per user, Meta-SGD rates', { localGroups: all }, 'meta-sgd', {}],
    ['only embeddings adapted', { localGroups: ['embeddings'] }, 'maml', { lr: 0.05 }],
    ['embeddings and head adapted', { localGroups: ['embeddings', 'output'] }, 'maml', { lr: 0.05 }],
    ['only decision layers adapted', { localGroups: ['decision'] }, 'maml', { lr: 0.05 }],
    ['ID embeddings + generator, MeLU', { ...id, localGroups: MELU_LOCAL_GROUPS }, 'maml', { lr: 0.05 }],
    ['ID embeddings, embeddings per user, Meta-SGD', { ...id, localGroups: all }, 'meta-sgd', {}],
    ['ID embeddings, ANIL head', { ...id, localGroups: ANIL_LOCAL_GROUPS }, 'maml', { lr: 0.05 }],
    ['ID embeddings, ANIL, Meta-SGD', { ...id, localGroups: ANIL_LOCAL_GROUPS }, 'meta-sgd', {}],
    ['ID embeddings, ANIL, ridge head', { ...id, localGroups: ANIL_LOCAL_GROUPS }, 'maml', { ridge: 3 }],
    [
      'ID embeddings, MeLU, user-bias step, Meta-SGD',
      { ...id, localGroups: MELU_LOCAL_GROUPS, userBiasShrinkage: 2 },
      'meta-sgd',
      {},
    ],
    [
      'implicit, ID embeddings, embeddings per user',
      { ...id, task: 'implicit', localGroups: all },
      'maml',
      { lr: 0.05 },
    ],
    [
      'implicit, ID embeddings, MeLU, Meta-SGD',
      { ...id, task: 'implicit', localGroups: MELU_LOCAL_GROUPS },
      'meta-sgd',
      {},
    ],
    [
      'user IDs (warm and cold users), MeLU',
      { ...uid, localGroups: MELU_LOCAL_GROUPS },
      'maml',
      { lr: 0.05 },
    ],
    ['user IDs, embeddings per user, Meta-SGD', { ...uid, localGroups: all }, 'meta-sgd', {}],
    [
      'user IDs, ANIL head (scoreBatch path)',
      { ...uid, localGroups: ANIL_LOCAL_GROUPS },
      'maml',
      { lr: 0.05 },
    ],
    ['user IDs, ANIL, ridge head', { ...uid, localGroups: ANIL_LOCAL_GROUPS }, 'maml', { ridge: 3 }],
    [
      'user IDs, MeLU, user-bias step, Meta-SGD',
      { ...uid, localGroups: MELU_LOCAL_GROUPS, userBiasShrinkage: 2 },
      'meta-sgd',
      {},
    ],
    [
      'implicit, user IDs, MeLU, Meta-SGD',
      { ...uid, task: 'implicit', localGroups: MELU_LOCAL_GROUPS },
      'meta-sgd',
      {},
    ],
  ];
  const implicit = (v: number) => (v >= 4 ? 1 : 0);

  for (const [name, config, algorithm, options] of cases) {
    it(name, async () => {
      const model = createModel(world.spec, { embeddingDim: 3, hidden: [6, 5], seed: 4, ...config });
      const tasks =
        config.task === 'implicit'
          ? world.tasks.map((t) => ({
              ...t,
              support: t.support.map((r) => ({ ...r, value: implicit(r.value) })),
              query: t.query.map((r) => ({ ...r, value: implicit(r.value) })),
            }))
          : world.tasks;
      await metaTrain(model, tasks, world.catalog, { algorithm, innerSteps: 1, metaBatchSize: 8, seed: 2 });
      expect(model.innerLrs !== null).toBe(algorithm === 'meta-sgd');
      const lengths = [3, 0, 6, 1, 5, 2];
      const reqs = lengths.map((n, i) => ({ user: tasks[i].user, support: tasks[i].support.slice(0, n) }));
      const users = !!config.idEmbeddings?.userIds;
      if (users) {
        // Two meta-batches move id.user (zero at first) by ~1e-3 only: give it values of the size
        // a longer training would, so the user rows matter in every comparison below.
        const t = model.params['id.user'];
        const rng = new Rng(9);
        t.assign(
          tf.tensor(
            Float32Array.from({ length: t.size }, () => 0.5 * rng.normal()),
            t.shape,
          ),
        );
        model.touch();
        // Warm users, cold users (1 and 4), and warm user 0 dropped to the cold row (its features
        // and support under an unknown id): the cold-user row path of meta-training.
        expect(reqs.map((r) => model.userIdRows([r.user])[0] > 0)).toEqual([
          true,
          false,
          true,
          true,
          false,
          true,
        ]);
        reqs.push({ user: { ...reqs[0].user, id: 'not-a-training-user' }, support: reqs[0].support });
      }
      // Both warm (ID-embedded) and cold (generated) items in support and scored sets.
      expect(reqs.some((r) => r.support.some((x) => warmIds.includes(x.itemId)))).toBe(true);
      expect(reqs.some((r) => r.support.some((x) => !warmIds.includes(x.itemId)))).toBe(true);
      const items = model.encodeItems(world.items);
      const opts = { steps: 3, ...options };
      const batched = adapt(model, reqs, world.catalog, opts);
      const unadapted = adapt(model, [reqs[2]], world.catalog, { ...opts, steps: 0, ridge: null });
      let worst = 0;
      reqs.forEach((r, i) => {
        const single = adapt(model, [r], world.catalog, opts);
        const a = score(batched, i, items);
        const b = score(single, 0, items);
        for (let j = 0; j < a.length; j++) worst = Math.max(worst, Math.abs(a[j] - b[j]));
        single.dispose();
      });
      expect(worst).toBeLessThan(5e-5);
      if (users) {
        // The scores go through the user's own row: user 0 and its cold twin differ (measured
        // 3.4e-3 to 2.6e-2 across these cases; the two adaptation paths agree to ~1e-6).
        const [own, cold] = [score(batched, 0, items), score(batched, reqs.length - 1, items)];
        const gap = Math.max(...own.map((v, j) => Math.abs(v - cold[j])));
        expect(gap).toBeGreaterThan(1e-3);
        // scoreBatch (the grouped shared-trunk path for ANIL) agrees with score.
        const all = scoreBatch(
          batched,
          reqs.map((_, i) => i),
          items,
        );
        reqs.forEach((_, i) => {
          const one = score(batched, i, items);
          for (let j = 0; j < one.length; j++)
            worst = Math.max(worst, Math.abs(all[i * one.length + j] - one[j]));
        });
        expect(worst).toBeLessThan(5e-5);
      }
      // Adaptation did something (so equality is not trivially that of the initialisation).
      const moved = score(batched, 2, items).map((v, j) => Math.abs(v - score(unadapted, 0, items)[j]));
      expect(Math.max(...moved)).toBeGreaterThan(1e-3);
      unadapted.dispose();
      batched.dispose();
      items.dispose();
      model.dispose();
    });
  }
});
