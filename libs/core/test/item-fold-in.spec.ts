/**
 * Item fold-in (the item step of the catalog fold-in): the trunk's Jacobian in the ID embedding
 * against finite differences of the scoring path, the fold-in's result a stationary point of its
 * objective (computed here in float64 from the scoring path's trunk features), no interactions
 * returning the starting row, batched equal to one item at a time, the lift going to the users
 * who interacted, and the models and inputs it refuses.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  adapt,
  createModel,
  FeatureSpec,
  foldInItems,
  initBackend,
  passThroughItemIds,
  score,
  supportsItemFoldIn,
  userBaseOf,
  userHeads,
  ValidationError,
  type ItemRecord,
  type ModelConfig,
  type RecommenderModel,
  type UserBase,
  type UserHeads,
} from '../src';
import { itemPrecision, trunkWithJacobian } from '../src/item-fold-in';
import { sharedTrunkFeatures, userFirstLayer } from '../src/model/network';
import { DECL, makeFoldInModel, makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(13, 30, 26, 10);
const spec = FeatureSpec.fromData({ user: [], item: DECL.item }, world.users, world.items);
const warmIds = world.items.slice(0, 20).map((i) => i.id);
const newItems = world.items.slice(20);
const implicitTasks = world.tasks.map((t) => ({
  ...t,
  support: t.support.map((r) => ({ ...r, value: 1 })),
  query: t.query.map((r) => ({ ...r, value: 1 })),
}));

function foldInModel(extra: Partial<ModelConfig> = {}): RecommenderModel {
  return makeFoldInModel(spec, warmIds, implicitTasks, world.catalog, 4, extra);
}

/** Heads of the first 20 users, adapted on their support positives, and their base. */
function headsOf(m: RecommenderModel): { heads: UserHeads; base: UserBase } {
  const adapted = adapt(
    m,
    implicitTasks.slice(0, 20).map((t) => ({ user: t.user, support: t.support })),
    world.catalog,
  );
  try {
    const heads = userHeads(adapted);
    return { heads, base: userBaseOf(heads, 60) };
  } finally {
    adapted.dispose();
  }
}

/** The scoring path's trunk features of `item` with ID row `row` (idDim + 1 values). */
function featuresAt(m: RecommenderModel, item: ItemRecord, row: Float32Array): number[] {
  const enc = m.encodeItems([item], { warmItems: new Map([[item.id, row]]) });
  try {
    return tf.tidy(() => {
      const p = m.globals();
      const user = userFirstLayer(m.layout, p, m.encodeUsers([{ features: {} }]));
      return Array.from(sharedTrunkFeatures(m.layout, p, enc.pre0!, user).dataSync());
    });
  } finally {
    enc.dispose();
  }
}

/** The fold-in objective L(e, b) in float64 (see item-fold-in.ts), from the scoring path. */
function objective(
  m: RecommenderModel,
  item: ItemRecord,
  users: readonly string[],
  heads: UserHeads,
  base: UserBase,
  start: Float32Array,
  row: Float32Array,
): number {
  const p = m.globals();
  const lift = Math.exp(p['prior.logLift'].dataSync()[0]);
  const weight = (Math.exp(p['prior.logCatalog'].dataSync()[0]) * base.users) / m.negativePool!.size;
  const d = Array.from(
    tf
      .tidy(() => {
        const user = userFirstLayer(m.layout, p, m.encodeUsers([{ features: {} }]));
        return itemPrecision(m, p, base, tf.reshape(user, [1, -1]) as tf.Tensor2D);
      })
      .dataSync(),
  );
  const k = heads.width;
  const h0 = featuresAt(m, item, start);
  const x = [...featuresAt(m, item, row).map((v, i) => v - h0[i]), 0];
  const shift = row[row.length - 1] - start[start.length - 1];
  let loss = 0;
  for (const id of users) {
    const u = heads.ids.indexOf(id);
    const q = heads.q.subarray(u * k, (u + 1) * k);
    const s = x.reduce((sum, v, i) => sum + v * q[i], 0) + shift;
    loss += (lift - s) ** 2;
  }
  // mean over the base of s^2 = x' M x + 2 shift mean(q) . x + shift^2.
  let quad = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) quad += x[i] * base.moments[i * k + j] * x[j];
  const lin = x.reduce((sum, v, i) => sum + v * base.mean[i], 0);
  loss += weight * (quad + 2 * shift * lin + shift * shift);
  for (let i = 0; i < k - 1; i++) loss += d[i] * x[i] ** 2;
  return loss + d[k - 1] * shift * shift;
}

describe('trunkWithJacobian', () => {
  it('matches the scoring path’s features and their finite differences in e', () => {
    const m = foldInModel();
    const item = newItems[0];
    const start = m.encodeItems([item]);
    const row = Float32Array.from(start.idRepr!.dataSync());
    start.dispose();
    const [h, jac] = tf.tidy(() => {
      const p = m.globals();
      const cw = m.layout.itemFields.length * m.layout.e;
      const enc = m.encodeItems([item]);
      const w0 = p['dec.0.w'] as tf.Tensor2D;
      const content = tf.matMul(enc.content!, tf.slice(w0, [0, 0], [cw, w0.shape[1]])) as tf.Tensor2D;
      const user = tf.reshape(userFirstLayer(m.layout, p, m.encodeUsers([{ features: {} }])), [1, -1]);
      const e = tf.tensor2d(row.slice(0, 3), [1, 3]);
      const out = trunkWithJacobian(m, p, content, user as tf.Tensor2D, e);
      enc.dispose();
      return [Array.from(out.h.dataSync()), out.jac.arraySync()[0] as number[][]];
    }) as [number[], number[][]];
    expect(h.map((v) => +v.toFixed(5))).toEqual(featuresAt(m, item, row).map((v) => +v.toFixed(5)));
    const eps = 1e-2;
    for (let j = 0; j < 3; j++) {
      const plus = row.slice();
      const minus = row.slice();
      plus[j] += eps;
      minus[j] -= eps;
      const fp = featuresAt(m, item, plus);
      const fm = featuresAt(m, item, minus);
      fp.forEach((v, i) => expect(jac[j][i]).toBeCloseTo((v - fm[i]) / (2 * eps), 2));
    }
    m.dispose();
  });
});

describe('foldInItems', () => {
  it('returns a stationary point of its objective (finite differences, pass-through trunk)', () => {
    const m = foldInModel();
    expect(passThroughItemIds(m)).toBe(true);
    const { heads, base } = headsOf(m);
    const item = newItems[1];
    const users = heads.ids.slice(0, 4);
    const enc = m.encodeItems([item]);
    const start = Float32Array.from(enc.idRepr!.dataSync());
    enc.dispose();
    const row = foldInItems(m, [{ item, users }], heads, base, { iterations: 8 }).get(item.id)!;
    const at = (r: Float32Array) => objective(m, item, users, heads, base, start, r);
    const gradAt = (r: Float32Array) =>
      Array.from(r, (_, j) => {
        const eps = 1e-3;
        const plus = r.slice();
        const minus = r.slice();
        plus[j] += eps;
        minus[j] -= eps;
        return (at(plus) - at(minus)) / (2 * eps);
      });
    const norm = (g: number[]) => Math.hypot(...g);
    const before = norm(gradAt(start));
    expect(before).toBeGreaterThan(1e-2); // the start is not already optimal
    expect(norm(gradAt(row))).toBeLessThan(before * 0.02);
    expect(at(row)).toBeLessThan(at(start));
    m.dispose();
  });

  it('keeps the starting row without interactions, and with 0 iterations', () => {
    const m = foldInModel();
    const { heads, base } = headsOf(m);
    const enc = m.encodeItems([newItems[0], world.items[0]]);
    const starts = enc.idRepr!.arraySync() as number[][];
    enc.dispose();
    const rows = foldInItems(
      m,
      [
        { item: newItems[0], users: [] },
        { item: world.items[0], users: ['not-a-known-user'] },
      ],
      heads,
      base,
    );
    expect(Array.from(rows.get(newItems[0].id)!)).toEqual(starts[0].map((v) => Math.fround(v)));
    expect(Array.from(rows.get(world.items[0].id)!)).toEqual(starts[1].map((v) => Math.fround(v)));
    const none = foldInItems(m, [{ item: newItems[0], users: heads.ids.slice(0, 3) }], heads, base, {
      iterations: 0,
    });
    expect(Array.from(none.get(newItems[0].id)!)).toEqual(starts[0].map((v) => Math.fround(v)));
    m.dispose();
  });

  it('folds a batch in as it folds each item alone', () => {
    const m = foldInModel();
    const { heads, base } = headsOf(m);
    const requests = newItems.map((item, i) => ({ item, users: heads.ids.slice(i, i + 1 + i * 2) }));
    const batched = foldInItems(m, requests, heads, base);
    for (const r of requests) {
      const alone = foldInItems(m, [r], heads, base).get(r.item.id)!;
      Array.from(alone).forEach((v, j) => expect(batched.get(r.item.id)![j]).toBeCloseTo(v, 4));
    }
    m.dispose();
  });

  it('lifts the item for the users who interacted with it more than for the others', () => {
    const m = foldInModel();
    expect(passThroughItemIds(m)).toBe(true);
    const adapted = adapt(
      m,
      implicitTasks.slice(0, 20).map((t) => ({ user: t.user, support: t.support })),
      world.catalog,
    );
    const heads = userHeads(adapted);
    const base = userBaseOf(heads);
    const item = newItems[2];
    const evidence = heads.ids.slice(0, 5);
    const before = m.encodeItems([item]);
    const row = foldInItems(m, [{ item, users: evidence }], heads, base).get(item.id)!;
    const after = m.encodeItems([item], { warmItems: new Map([[item.id, row]]) });
    const gain = heads.ids.map((_, u) => score(adapted, u, after)[0] - score(adapted, u, before)[0]);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(mean(gain.slice(0, 5))).toBeGreaterThan(mean(gain.slice(5)));
    before.dispose();
    after.dispose();
    adapted.dispose();
    m.dispose();
  });

  it('refuses models it cannot fold into and mismatched heads, naming the field', () => {
    const plain = createModel(spec, { localGroups: ['output'], idEmbeddings: { itemIds: warmIds } });
    expect(supportsItemFoldIn(plain)).toBe(false);
    const m = foldInModel();
    expect(supportsItemFoldIn(m)).toBe(true);
    const { heads, base } = headsOf(m);
    expect(() => foldInItems(plain, [], heads, base)).toThrow(ValidationError);
    expect(() => foldInItems(m, [], { ...heads, width: 3 }, base)).toThrow(/heads\.width/);
    expect(() => foldInItems(m, [], heads, base, { iterations: -1 })).toThrow(/options\.iterations/);
    expect(() => userBaseOf({ ids: [], q: new Float32Array(0), width: 9 })).toThrow(/heads/);
    plain.dispose();
    m.dispose();
  });
});
