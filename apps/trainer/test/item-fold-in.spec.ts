/**
 * New items folded in from P2's item evidence (learners/item-fold-in.ts): the training users'
 * heads (one per training user with interactions), rows only for items the model has no ID row for
 * and only from training users' interactions, and a new item's rows moving towards the taste of
 * the users who interacted with it.
 */
import { initBackend } from '@warmstart/core';
import { itemCatalog, type RatingEvent, type Task } from '@warmstart/evaluation';
import { p2Dataset } from '@warmstart/evaluation/testing';
import { parseConfig } from '../src/config/load';
import { prepareStart } from '../src/learners/als-embeddings';
import { buildModel } from '../src/learners/build-model';
import { learnerSettings } from '../src/eval/methods';
import { foldInRowsFromEvidence, trainingHeads } from '../src/learners/item-fold-in';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const data = p2Dataset({ kind: 'implicit', users: 40, items: 32, perUser: [6, 12], seed: 3 });
const items = itemCatalog(data.items);
const newIds = new Set(data.items.slice(24).map((i) => i.id));
const warmIds = data.items.slice(0, 24).map((i) => i.id);
/** Training tasks over the first 24 items only (the last 8 are new to the model). */
const tasks: Task[] = data.users.map((user) => {
  const mine = data.ratings
    .filter((r) => r.userId === user.id && !newIds.has(r.itemId))
    .map((r) => ({ itemId: r.itemId, value: 1 }));
  return { user, support: mine.slice(0, 3), query: mine.slice(3) };
});
const train = tasks.slice(0, 30);

function fittedModel() {
  const config = parseConfig({
    features: { user: [], item: [] },
    model: { hidden: [16, 16], embeddingDim: 4 },
  });
  const model = buildModel(
    config.features,
    { ...config.model, localGroups: ['output'] },
    data.users,
    data.items.slice(0, 24),
    train,
    0,
    { kind: 'implicit', scale: [0, 1] },
    { bayesHead: true },
  );
  prepareStart(model, config.model, { train, items, seed: 0, kind: 'implicit' });
  return model;
}

describe('item fold-in from item evidence', () => {
  it('adapts one head per training user with interactions', () => {
    const model = fittedModel();
    const training = trainingHeads(model, train, items);
    expect(training.heads.ids).toEqual(
      train.filter((t) => t.support.length + t.query.length > 0).map((t) => t.user.id),
    );
    expect(training.base.users).toBe(training.heads.ids.length);
    expect(training.heads.q.length).toBe(training.heads.ids.length * training.heads.width);
    model.dispose();
  });

  it('folds in only new items, only from training users, and moves them', () => {
    const model = fittedModel();
    expect(warmIds.every((id) => model.itemIdIndex.has(id))).toBe(true);
    const training = trainingHeads(model, train, items);
    const [fresh, other] = [...newIds];
    const evidence: RatingEvent[] = [
      ...train.slice(0, 4).map((t) => ({ userId: t.user.id, itemId: fresh, value: 1, time: new Date(0) })),
      { userId: tasks[35].user.id, itemId: other, value: 1, time: new Date(0) }, // not a training user: skipped
      { userId: train[0].user.id, itemId: warmIds[0], value: 1, time: new Date(0) }, // a warm item: keeps its own row
    ];
    const rows = foldInRowsFromEvidence(model, evidence, items, training)!;
    expect([...rows.keys()].sort()).toEqual([fresh, other].sort());
    const start = model.encodeItems([items.get(fresh)!]);
    const before = Array.from(start.idRepr!.dataSync());
    start.dispose();
    expect(Array.from(rows.get(other)!)).toEqual(before.map((v) => Math.fround(v))); // no usable evidence
    expect(Math.max(...Array.from(rows.get(fresh)!, (v, i) => Math.abs(v - before[i])))).toBeGreaterThan(
      1e-3,
    );
    expect(foldInRowsFromEvidence(model, evidence.slice(-1), items, training)).toBeUndefined();
    model.dispose();
  });
});

describe('train.newItems', () => {
  it('defaults to auto, is overridden per learner and is validated', () => {
    const c = parseConfig({
      evaluate: { learners: [{ name: 'a' }, { name: 'b', newItems: 'fold-in' }] },
    });
    expect(c.train.newItems).toBe('auto');
    const [a, b] = c.evaluate.learners.map((l) => learnerSettings(c, l, 'implicit'));
    expect([a.newItems, b.newItems]).toEqual(['auto', 'fold-in']);
    expect(() => parseConfig({ train: { newItems: 'als' } })).toThrow(/train\.newItems/);
  });
});
