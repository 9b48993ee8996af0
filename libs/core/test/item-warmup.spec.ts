/**
 * Item warm-up (warmUpItems): the objective's gradient against finite differences, the starting
 * rows, batched == one item at a time, warmed rows in encodeItems and in adapt's support sets,
 * validation, memory, determinism, and a behaviour check: new items with a hidden quality their
 * content does not reveal are predicted better after warming up on a few interactions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  adapt,
  createModel,
  initBackend,
  loadModel,
  metaTrain,
  saveModel,
  score,
  ValidationError,
  warmUpItems,
  FeatureSpec,
  type ItemRecord,
  type ItemWarmUpRequest,
  type ModelConfig,
  type RecommenderModel,
  type UserRecord,
} from '../src';
import {
  disposeBatch,
  encodeBatch,
  warmUpLoss,
  warmUpParts,
  type WarmUpBatch,
  type WarmUpParts,
} from '../src/item-warmup';
import { forward, itemIdRepr, userIdRepr } from '../src/model/network';
import type { Params } from '../src/model/params';
import { Rng } from '../src/rng';
import { DECL, expectNoTensorGrowth, makeWorld, rewriteManifest } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(5, 10, 16, 8);
const warmIds = world.items.slice(0, 8).map((i) => i.id);
const coldItems = world.items.slice(8);

function tiny(extra: Partial<ModelConfig> = {}, users = false): RecommenderModel {
  const model = createModel(world.spec, {
    embeddingDim: 3,
    hidden: [5, 4],
    seed: 4,
    idEmbeddings: { itemIds: warmIds, dim: 2, ...(users && { userIds: [world.users[0].id] }) },
    ...extra,
  });
  // Random generator and ID tables (they start at zero), so every column of a row matters.
  const rng = new Rng(9);
  for (const name of ['gen.w', 'gen.b', 'id.item', ...(users ? ['id.user'] : [])]) {
    const v = model.params[name];
    v.assign(
      tf.tensor(
        Float32Array.from({ length: v.size }, () => 0.5 * rng.normal()),
        v.shape,
      ),
    );
  }
  return model;
}

/** Requests for `items`: item i gets i % 4 interactions from the world's users (value 1..5 or 0/1). */
function requests(items: ItemRecord[], implicit = false): ItemWarmUpRequest[] {
  return items.map((item, i) => ({
    item,
    interactions: Array.from({ length: i % 4 }, (_, k) => {
      const value = 1 + ((i * 3 + k * 2) % 5);
      return {
        user: world.users[(i + k) % world.users.length],
        value: implicit ? Number(value >= 3) : value,
      };
    }),
  }));
}

/** The starting rows (generator output, or a warm item's own row) of `items`. */
function startRows(model: RecommenderModel, items: ItemRecord[]): Float32Array[] {
  const enc = model.encodeItems(items);
  const values = enc.idRepr!.dataSync() as Float32Array;
  enc.dispose();
  const w = model.layout.idDim + 1;
  return items.map((_, i) => values.slice(i * w, (i + 1) * w));
}

/**
 * Runs `fn` (in a tidy scope) on a warm-up batch of `reqs`: the global parameters, the batch's
 * parts, its starting rows and `rows` (warmUpItems output) as one tensor in request order.
 */
function atRows<T extends tf.TensorContainer>(
  model: RecommenderModel,
  reqs: ItemWarmUpRequest[],
  rows: Map<string, Float32Array>,
  fn: (p: Params, parts: WarmUpParts, start: tf.Tensor2D, x: tf.Tensor2D) => T,
): T {
  const batch = encodeBatch(model, reqs);
  try {
    return tf.tidy(() => {
      const p = model.globals();
      const start = itemIdRepr(p, batch.itemX, batch.idIndex, batch.warm) as tf.Tensor2D;
      const x = tf.tensor2d(
        reqs.flatMap((r) => [...rows.get(r.item.id)!]),
        start.shape,
      );
      return fn(p, warmUpParts(model, p, batch), start, x);
    });
  } finally {
    disposeBatch(batch);
  }
}

/** The warm-up objective written with the network's plain forward pass (no precomputed parts). */
function referenceLoss(
  model: RecommenderModel,
  p: Params,
  batch: WarmUpBatch,
  rows: tf.Tensor2D,
  start: tf.Tensor2D,
  prior: number,
  biasPrior = prior,
): number {
  return tf.tidy(() => {
    const pred = forward(
      model.layout,
      p,
      {
        userX: batch.userX,
        itemX: tf.expandDims(tf.gather(batch.itemX, batch.itemOf), 1) as tf.Tensor3D,
        itemId: tf.expandDims(tf.gather(rows, batch.itemOf), 1) as tf.Tensor3D,
        ...(batch.userIdIndex && { userId: userIdRepr(p, batch.userIdIndex) }),
      },
      model.globalMean,
    );
    const z = tf.reshape(pred, [-1]);
    const e =
      model.layout.task === 'rating'
        ? tf.square(tf.sub(z, batch.y))
        : tf.sub(tf.softplus(z), tf.mul(batch.y, z));
    // Written out per column: the last (the ID bias) has its own pull.
    const sq = tf.square(tf.sub(rows, start));
    const idDim = model.layout.idDim;
    const perRow = tf.add(
      tf.mul(tf.sum(tf.slice(sq, [0, 0], [-1, idDim]), 1), prior),
      tf.mul(tf.reshape(tf.slice(sq, [0, idDim], [-1, 1]), [-1]), biasPrior),
    );
    const pull = tf.sum(tf.mul(perRow, batch.perItem));
    return tf.add(tf.sum(tf.mul(e, batch.weight)), pull).dataSync()[0] as number;
  });
}

describe('warm-up objective gradient', () => {
  const cases: ['rating' | 'implicit', boolean, number, number][] = [
    ['rating', false, 1, 1],
    ['rating', false, 0, 0],
    ['implicit', false, 1, 1],
    ['rating', true, 2, 2],
    ['rating', false, 2, 0.5],
    ['rating', false, 0, 1],
  ];
  for (const [task, users, prior, biasPrior] of cases) {
    it(`matches central finite differences (${task}, prior ${prior}, bias prior ${biasPrior}${users ? ', user IDs' : ''})`, () => {
      const model = tiny({ task }, users);
      const items = [...world.items.slice(6, 9), ...coldItems.slice(3, 6)];
      const batch = encodeBatch(model, requests(items, task === 'implicit'));
      const p = model.globals();
      const width = model.layout.idDim + 1;
      const start = tf.tidy(() => itemIdRepr(p, batch.itemX, batch.idIndex, batch.warm) as tf.Tensor2D);
      // Evaluated away from the start so the prior's gradient is not zero.
      const rng = new Rng(3);
      const at = Float32Array.from(start.dataSync(), (v) => v + 0.3 * rng.normal());
      // The parts outlive this scope (kept); their intermediates do not.
      let parts!: WarmUpParts;
      tf.tidy(() => {
        parts = warmUpParts(model, p, batch);
        for (const t of Object.values(parts)) tf.keep(t);
      });
      const loss = (x: Float32Array) =>
        tf.tidy(
          () =>
            warmUpLoss(
              model,
              p,
              parts,
              tf.tensor2d(x, [items.length, width]),
              start,
              prior,
              biasPrior,
            ).dataSync()[0],
        );
      const analytic = tf.tidy(() =>
        tf
          .grad((x: tf.Tensor) => warmUpLoss(model, p, parts, x as tf.Tensor2D, start, prior, biasPrior))(
            tf.tensor2d(at, [items.length, width]),
          )
          .dataSync(),
      );
      const failures: string[] = [];
      let checked = 0;
      for (let c = 0; c < at.length; c++) {
        const fd = (eps: number) => {
          const plus = at.slice();
          const minus = at.slice();
          plus[c] += eps;
          minus[c] -= eps;
          return (loss(plus) - loss(minus)) / (2 * eps);
        };
        const [fd1, fd2] = [fd(1e-2), fd(5e-3)];
        // A ReLU kink within eps makes the estimate depend on eps: skip that coordinate.
        if (Math.abs(fd1 - fd2) > 0.01 * Math.abs(fd2) + 3e-4) continue;
        checked++;
        if (Math.abs(analytic[c] - fd2) > 0.02 * Math.abs(fd2) + 2e-3)
          failures.push(`row ${Math.floor(c / width)} col ${c % width}: ${analytic[c]} vs ${fd2}`);
      }
      expect(failures).toEqual([]);
      // Most coordinates were checked, including the items without interactions (prior only).
      expect(checked).toBeGreaterThan(0.8 * at.length);
      // The objective (its precomputed halves of the first layer) is the network's own
      // prediction loss: compare with the plain forward pass.
      for (const [pr, bp] of [
        [0, 0],
        [prior, biasPrior],
      ]) {
        const x = tf.tensor2d(at, [items.length, width]);
        const [fast, plain] = tf.tidy(() => [
          warmUpLoss(model, p, parts, x, start, pr!, bp).dataSync()[0],
          referenceLoss(model, p, batch, x, start, pr!, bp),
        ]);
        expect(fast).toBeCloseTo(plain, 4);
        x.dispose();
      }
      tf.dispose(Object.values(parts) as tf.Tensor[]);
      start.dispose();
      disposeBatch(batch);
      model.dispose();
    });
  }
});

describe('warmUpItems', () => {
  it('starts from the generator (cold items) or the own row (warm items); 0 steps returns them', () => {
    const model = tiny();
    const items = [world.items[0], ...coldItems.slice(0, 4)];
    const start = startRows(model, items);
    const rows = warmUpItems(model, requests(items), { steps: 0 });
    items.forEach((it, i) => expect([...rows.get(it.id)!]).toEqual([...start[i]]));
    // An item without interactions keeps its starting row whatever the steps; others move.
    const reqs = requests(items);
    const moved = warmUpItems(model, reqs, { steps: 5 });
    reqs.forEach((r, i) => {
      const changed = moved.get(r.item.id)!.some((v, c) => v !== start[i][c]);
      expect(changed).toBe(r.interactions.length > 0);
    });
    expect(reqs.filter((r) => r.interactions.length === 0)).toHaveLength(2);
    model.dispose();
  });

  it('lowers each item’s warm-up objective step by step', () => {
    const model = tiny();
    const reqs = requests(coldItems.slice(1, 4));
    const objective = (steps: number) => {
      const rows = warmUpItems(model, reqs, { steps, lr: 0.05, prior: 1 });
      return atRows(
        model,
        reqs,
        rows,
        (p, parts, start, x) => warmUpLoss(model, p, parts, x, start, 1).dataSync()[0],
      );
    };
    const values = [0, 1, 5, 20].map(objective);
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThan(values[i - 1]);
    model.dispose();
  });

  it('biasPrior: unset is the prior; smaller moves the ID bias further towards the ratings', () => {
    const model = tiny();
    // Items rated at the top of the scale: their level must rise.
    const reqs = coldItems.slice(0, 3).map((item) => ({
      item,
      interactions: world.users.slice(0, 5).map((u) => ({ user: u, value: 5 })),
    }));
    const start = startRows(
      model,
      reqs.map((r) => r.item),
    );
    const width = model.layout.idDim + 1;
    const same = warmUpItems(model, reqs, { prior: 10 });
    const explicit = warmUpItems(model, reqs, { prior: 10, biasPrior: 10 });
    for (const r of reqs) expect([...explicit.get(r.item.id)!]).toEqual([...same.get(r.item.id)!]);
    const loose = warmUpItems(model, reqs, { prior: 10, biasPrior: 1 });
    reqs.forEach((r, i) => {
      const moved = (rows: Map<string, Float32Array>) =>
        rows.get(r.item.id)![width - 1]! - start[i]![width - 1]!;
      expect(moved(same)).toBeGreaterThan(0);
      expect(moved(loose)).toBeGreaterThan(moved(same));
    });
    // The model's own setting applies when the call sets none.
    model.itemWarmUp = { prior: 10, biasPrior: 1 };
    const own = warmUpItems(model, reqs);
    for (const r of reqs) expect([...own.get(r.item.id)!]).toEqual([...loose.get(r.item.id)!]);
    model.dispose();
  });

  it('ends a rating model’s ID biases at their exact minimiser (zero gradient in the bias column)', () => {
    const model = tiny();
    const reqs = requests(coldItems.slice(0, 8));
    const width = model.layout.idDim + 1;
    for (const [prior, biasPrior] of [
      [20, 20],
      [10, 1],
    ]) {
      const rows = warmUpItems(model, reqs, { prior, biasPrior });
      const grad = atRows(model, reqs, rows, (p, parts, start, x) =>
        tf
          .grad((v: tf.Tensor) => warmUpLoss(model, p, parts, v as tf.Tensor2D, start, prior!, biasPrior))(x)
          .dataSync(),
      );
      // The embedding columns are where the steps left them; the bias column is solved.
      reqs.forEach((_, i) => expect(Math.abs(grad[i * width + width - 1]!)).toBeLessThan(1e-4));
    }
    model.dispose();
  });

  it('gives each item the same row batched as alone, and the same rows on every run', () => {
    const model = tiny();
    const reqs = requests(world.items.slice(4, 12));
    const batched = warmUpItems(model, reqs);
    for (const r of reqs) {
      const alone = warmUpItems(model, [r]).get(r.item.id)!;
      const b = batched.get(r.item.id)!;
      alone.forEach((v, c) => expect(b[c]).toBeCloseTo(v, 5));
    }
    const again = warmUpItems(model, reqs);
    for (const [id, row] of batched) expect([...again.get(id)!]).toEqual([...row]);
    model.dispose();
  });

  it('takes the model’s own settings (model.itemWarmUp) under the call’s options, and keeps them in the artifact', async () => {
    const model = tiny();
    const reqs = requests(coldItems);
    const strong = warmUpItems(model, reqs);
    const weak = warmUpItems(model, reqs, { prior: 5 });
    expect(
      [...weak.values()].some((row, i) =>
        row.some((v, c) => Math.abs(v - [...strong.values()][i]![c]!) > 1e-4),
      ),
    ).toBe(true);
    model.itemWarmUp = { prior: 5 };
    for (const [id, row] of warmUpItems(model, reqs)) expect([...row]).toEqual([...weak.get(id)!]);
    // The call's options win.
    for (const [id, row] of warmUpItems(model, reqs, { prior: 20 }))
      expect([...row]).toEqual([...strong.get(id)!]);
    const root = mkdtempSync(join(tmpdir(), 'warmstart-warmup-'));
    try {
      model.itemWarmUp = { prior: 5, biasPrior: 2 };
      await saveModel(model, join(root, 'm'));
      const loaded = await loadModel(join(root, 'm'));
      expect(loaded.itemWarmUp).toEqual({ prior: 5, biasPrior: 2 });
      loaded.dispose();
      rewriteManifest(join(root, 'm'), (m) => (m.itemWarmUp = { prior: 5, lr: 0.5 }));
      await expect(loadModel(join(root, 'm'))).rejects.toMatchObject({ field: 'manifest.itemWarmUp.lr' });
      rewriteManifest(join(root, 'm'), (m) => (m.itemWarmUp = { biasPrior: 100 }));
      await expect(loadModel(join(root, 'm'))).rejects.toMatchObject({
        field: 'manifest.itemWarmUp.biasPrior',
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
      model.dispose();
    }
  });

  it('does not grow tensor memory', () => {
    const model = tiny();
    const reqs = requests(coldItems);
    expectNoTensorGrowth(() => {
      const rows = warmUpItems(model, reqs, { steps: 3 });
      const enc = model.encodeItems(coldItems, { warmItems: rows });
      const a = adapt(
        model,
        [{ user: world.users[0], support: [{ itemId: coldItems[1].id, value: 4 }] }],
        world.catalog,
        {
          warmItems: rows,
        },
      );
      score(a, 0, enc);
      a.dispose();
      enc.dispose();
    });
    model.dispose();
  });

  it('rejects bad input with errors naming the field', () => {
    const model = tiny();
    const item = coldItems[0];
    const user = world.users[0];
    const bad: [unknown, WarmUpArgs, string][] = [
      [[{ item: { id: '', features: {} }, interactions: [] }], {}, 'requests[0].item.id'],
      [
        [
          { item, interactions: [] },
          { item, interactions: [] },
        ],
        {},
        'requests[1].item.id',
      ],
      [[{ item, interactions: null }], {}, 'requests[0].interactions'],
      [[{ item, interactions: [{ value: 3 }] }], {}, 'requests[0].interactions[0].user.id'],
      [[{ item, interactions: [{ user, value: Number.NaN }] }], {}, 'requests[0].interactions[0].value'],
      [[{ item, interactions: [{ user, value: 9 }] }], {}, 'requests[0].interactions[0].value'],
      [[], { steps: -1 }, 'options.steps'],
      [[], { lr: 0 }, 'options.lr'],
      [[], { prior: Number.NaN }, 'options.prior'],
      [[], { lr: 0.1, prior: 10 }, 'options.lr'], // lr * prior >= 1 diverges
      [[], { biasPrior: -1 }, 'options.biasPrior'],
      [[], { lr: 0.1, prior: 1, biasPrior: 10 }, 'options.biasPrior'],
      [null, {}, 'requests'],
    ];
    for (const [reqs, opts, field] of bad) {
      const before = tf.memory().numTensors;
      expect(() => warmUpItems(model, reqs as ItemWarmUpRequest[], opts)).toThrow(
        expect.objectContaining({ name: ValidationError.name, field }),
      );
      expect(tf.memory().numTensors).toBe(before);
    }
    const plain = createModel(world.spec, { embeddingDim: 3, hidden: [4], idEmbeddings: null });
    expect(() => warmUpItems(plain, [])).toThrow(expect.objectContaining({ field: 'model' }));
    expect(() => plain.encodeItems([item], { warmItems: new Map([[item.id, new Float32Array(3)]]) })).toThrow(
      expect.objectContaining({ field: 'warmItems' }),
    );
    expect(() => model.encodeItems([item], { warmItems: new Map([[item.id, new Float32Array(2)]]) })).toThrow(
      expect.objectContaining({ field: `warmItems["${item.id}"]` }),
    );
    plain.dispose();
    model.dispose();
  });
});

type WarmUpArgs = Parameters<typeof warmUpItems>[2];

describe('warmed rows in encodeItems and adapt', () => {
  it('replace the ID representation of the warmed items only', () => {
    const model = tiny({ localGroups: ['output'] });
    const items = coldItems.slice(0, 4);
    const rows = warmUpItems(model, requests(items));
    const a = adapt(model, [{ user: world.users[1], support: [] }], world.catalog);
    const plain = model.encodeItems(items);
    const warmed = model.encodeItems(items, { warmItems: new Map([[items[1].id, rows.get(items[1].id)!]]) });
    const s0 = score(a, 0, plain);
    const s1 = score(a, 0, warmed);
    expect(s1[1]).not.toBeCloseTo(s0[1], 4);
    for (const i of [0, 2, 3]) expect(s1[i]).toBe(s0[i]);
    // The starting rows as "warmed" rows change nothing.
    const start = startRows(model, items);
    const same = model.encodeItems(items, { warmItems: new Map(items.map((it, i) => [it.id, start[i]])) });
    score(a, 0, same).forEach((v, i) => expect(v).toBeCloseTo(s0[i], 5));
    [plain, warmed, same].forEach((e) => e.dispose());
    a.dispose();
    model.dispose();
  });

  it('are used for support items by adapt (and the starting rows change nothing)', () => {
    const model = tiny();
    const items = coldItems.slice(0, 3);
    const rows = warmUpItems(model, requests(items));
    const support = items.map((it, k) => ({ itemId: it.id, value: 2 + k }));
    const req = [{ user: world.users[2], support }];
    const enc = model.encodeItems(world.items);
    const run = (warmItems?: Map<string, Float32Array>) => {
      const a = adapt(model, req, world.catalog, warmItems ? { warmItems } : {});
      const s = score(a, 0, enc);
      a.dispose();
      return s;
    };
    const base = run();
    const start = startRows(model, items);
    run(new Map(items.map((it, i) => [it.id, start[i]]))).forEach((v, i) =>
      expect(v).toBeCloseTo(base[i], 5),
    );
    const moved = run(rows);
    expect(moved.some((v, i) => Math.abs(v - base[i]) > 1e-4)).toBe(true);
    enc.dispose();
    model.dispose();
  });
});

/**
 * Items have a hidden quality (std 0.8) that their content does not reveal. Half the items are in
 * training (own ID rows); the other half are new: the generator scores them from content only. A
 * new item's first 4 interactions warm it up; its other interactions are the test.
 */
describe('new items with a hidden quality', () => {
  const rng = new Rng(31);
  const genres = ['a', 'b', 'c', 'd'];
  const items: ItemRecord[] = Array.from({ length: 40 }, (_, i) => ({
    id: `i${i}`,
    features: { genres: genres.filter(() => rng.next() < 0.4), year: 1980 + rng.int(20) },
  }));
  const users: UserRecord[] = Array.from({ length: 60 }, (_, u) => ({
    id: `u${u}`,
    features: { gender: rng.next() < 0.5 ? 'M' : 'F', age: 18 + rng.int(50) },
  }));
  const catalog = new Map(items.map((i) => [i.id, i]));
  const quality = items.map(() => 0.8 * rng.normal());
  const taste = users.map(() => genres.map(() => 0.5 * rng.normal()));
  const rating = (u: number, i: number) => {
    const g = items[i].features.genres as string[];
    const t = g.reduce((s, x) => s + taste[u][genres.indexOf(x)], 0);
    return Math.min(5, Math.max(1, 3.2 + quality[i] + t + 0.3 * rng.normal()));
  };
  const trained = items.slice(0, 20);
  const fresh = items.slice(20);
  const spec = FeatureSpec.fromData(DECL, users, items);
  // Each user rates 12 trained items (training tasks) and 6 new ones (warm-up and test).
  const history = users.map((_, u) =>
    rng
      .shuffle(trained.map((_, i) => i))
      .slice(0, 12)
      .map((i) => ({ itemId: items[i].id, value: rating(u, i) })),
  );
  const onNew = users.map((_, u) =>
    rng
      .shuffle(fresh.map((_, i) => 20 + i))
      .slice(0, 6)
      .map((i) => ({ u, i, value: rating(u, i) })),
  );

  it('are predicted better after warming up on their first interactions', async () => {
    const model = createModel(spec, {
      embeddingDim: 4,
      hidden: [8],
      seed: 2,
      localGroups: ['output'],
      idEmbeddings: { itemIds: trained.map((i) => i.id), dim: 4 },
    });
    const tasks = users.map((user, u) => ({
      user,
      support: history[u].slice(0, 4),
      query: history[u].slice(4),
    }));
    await metaTrain(model, tasks, catalog, {
      algorithm: 'anil',
      innerSteps: 1,
      metaBatchSize: 10,
      epochs: 40,
      seed: 3,
    });
    // Per new item: its first 4 interactions (in user order) warm it up, the rest are the test.
    const byItem = new Map<number, { u: number; value: number }[]>();
    for (const list of onNew) for (const r of list) byItem.set(r.i, [...(byItem.get(r.i) ?? []), r]);
    const reqs: ItemWarmUpRequest[] = [...byItem].map(([i, list]) => ({
      item: items[i],
      interactions: list.slice(0, 4).map((r) => ({ user: users[r.u], value: r.value })),
    }));
    const test = [...byItem].flatMap(([i, list]) => list.slice(4).map((r) => ({ ...r, i })));
    const warmItems = warmUpItems(model, reqs);
    const adapted = adapt(
      model,
      users.map((user, u) => ({ user, support: history[u].slice(0, 4) })),
      catalog,
    );
    const rmse = (enc: ReturnType<RecommenderModel['encodeItems']>) => {
      let se = 0;
      for (const r of test) se += (score(adapted, r.u, enc)[r.i - 20] - r.value) ** 2;
      return Math.sqrt(se / test.length);
    };
    const cold = model.encodeItems(fresh);
    const warm = model.encodeItems(fresh, { warmItems });
    const [before, after] = [rmse(cold), rmse(warm)];
    // Measured (model seed 2): RMSE 1.016 -> 0.768 with the defaults (prior 20, lr 0.04); 0.684
    // with prior 1, lr 0.1 (seeds 3-5 alike: 1.03-1.05 -> 0.67-0.71); with 0 steps they are equal.
    expect(after).toBeLessThan(0.85 * before);
    cold.dispose();
    warm.dispose();
    adapted.dispose();
    model.dispose();
  }, 120_000);
});
