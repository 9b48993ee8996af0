/**
 * New items folded in from their users' histories (item-fold-in-histories.ts): the same rows as
 * foldInItems with the heads computed by hand, each user adapted once however many items name it,
 * the model's user base required, the base's JSON checked field by field, and the base kept by
 * artifacts (checksummed like every other file).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adapt,
  FeatureSpec,
  foldInItems,
  foldInItemsFromHistories,
  initBackend,
  loadModel,
  saveModel,
  userBaseFromJSON,
  userBaseOf,
  userBaseToJSON,
  userHeads,
  userHeadsOf,
  ValidationError,
  type RecommenderModel,
} from '../src';
import { DECL, makeFoldInModel, makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(17, 30, 26, 10);
const spec = FeatureSpec.fromData({ user: [], item: DECL.item }, world.users, world.items);
const warmIds = world.items.slice(0, 20).map((i) => i.id);
const newItems = world.items.slice(20);
const tasks = world.tasks.map((t) => ({
  user: t.user,
  support: [...t.support, ...t.query]
    .filter((r) => warmIds.includes(r.itemId))
    .map((r) => ({ ...r, value: 1 })),
}));

function foldInModel(): RecommenderModel {
  const m = makeFoldInModel(
    spec,
    warmIds,
    tasks.map((t) => ({ ...t, query: [] })),
    world.catalog,
    5,
  );
  m.foldInBase = userBaseOf(userHeadsOf(m, tasks, world.catalog));
  return m;
}

const close = (a: Float32Array, b: Float32Array) =>
  expect(Array.from(a, (v) => +v.toFixed(4))).toEqual(Array.from(b, (v) => +v.toFixed(4)));

describe('userHeadsOf', () => {
  it('equals userHeads of one batched adapt on the positives, leaving out users without any', () => {
    const m = foldInModel();
    const users = [...tasks.slice(0, 5), { user: { id: 'nobody', features: {} }, support: [] }];
    const heads = userHeadsOf(m, users, world.catalog);
    const adapted = adapt(m, tasks.slice(0, 5), world.catalog);
    const direct = userHeads(adapted);
    adapted.dispose();
    expect(heads.ids).toEqual(direct.ids);
    close(heads.q, direct.q);
    m.dispose();
  });
});

describe('foldInItemsFromHistories', () => {
  it('gives foldInItems’ rows from the users’ own histories, adapting a shared user once', () => {
    const m = foldInModel();
    const requests = [
      { item: newItems[0], users: tasks.slice(0, 3).map((t) => ({ user: t.user, history: t.support })) },
      { item: newItems[1], users: tasks.slice(2, 6).map((t) => ({ user: t.user, history: t.support })) },
    ];
    const rows = foldInItemsFromHistories(m, requests, world.catalog);
    const heads = userHeadsOf(m, tasks.slice(0, 6), world.catalog);
    const expected = foldInItems(
      m,
      requests.map((r) => ({ item: r.item, users: r.users.map((u) => u.user.id) })),
      heads,
      m.foldInBase!,
    );
    expect([...rows.keys()]).toEqual([newItems[0].id, newItems[1].id]);
    for (const [id, row] of rows) close(row, expected.get(id)!);
    // The folded row differs from the content-only start: the evidence moved it.
    const enc = m.encodeItems([newItems[0]]);
    const start = Float32Array.from(enc.idRepr!.dataSync());
    enc.dispose();
    expect(Math.max(...rows.get(newItems[0].id)!.map((v, i) => Math.abs(v - start[i])))).toBeGreaterThan(
      1e-3,
    );
    m.dispose();
  });

  it('needs the model’s user base', () => {
    const m = foldInModel();
    m.foldInBase = null;
    expect(() => foldInItemsFromHistories(m, [], world.catalog)).toThrow(ValidationError);
    expect(() => foldInItemsFromHistories(m, [], world.catalog)).toThrow(/^model: /);
    m.dispose();
  });
});

describe('user base JSON', () => {
  it('round-trips and names the field it refuses', () => {
    const m = foldInModel();
    const base = m.foldInBase!;
    const json = userBaseToJSON(base);
    const back = userBaseFromJSON(JSON.parse(JSON.stringify(json)), base.width);
    close(back.moments, base.moments);
    close(back.mean, base.mean);
    expect(back.users).toBe(base.users);
    expect(() => userBaseFromJSON(json, base.width + 1)).toThrow(/^base\.width: /);
    expect(() => userBaseFromJSON({ ...json, users: 0 }, base.width)).toThrow(/^base\.users: /);
    expect(() => userBaseFromJSON({ ...json, moments: json.moments.slice(1) }, base.width)).toThrow(
      /^base\.moments: /,
    );
    expect(() => userBaseFromJSON({ ...json, mean: [...json.mean.slice(1), null] }, base.width)).toThrow(
      /^base\.mean: /,
    );
    expect(() => userBaseFromJSON(null, base.width)).toThrow(/^base: /);
    m.dispose();
  });
});

describe('artifacts', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fold-in-base-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keep the user base, and load none where none was saved', async () => {
    const m = foldInModel();
    await saveModel(m, join(dir, 'with'));
    const loaded = await loadModel(join(dir, 'with'));
    close(loaded.foldInBase!.moments, m.foldInBase!.moments);
    close(loaded.foldInBase!.mean, m.foldInBase!.mean);
    expect(loaded.foldInBase!.users).toBe(m.foldInBase!.users);
    // The loaded model folds the same rows in.
    const requests = [
      { item: newItems[2], users: tasks.slice(0, 4).map((t) => ({ user: t.user, history: t.support })) },
    ];
    close(
      foldInItemsFromHistories(loaded, requests, world.catalog).get(newItems[2].id)!,
      foldInItemsFromHistories(m, requests, world.catalog).get(newItems[2].id)!,
    );
    m.foldInBase = null;
    await saveModel(m, join(dir, 'without'));
    expect((await loadModel(join(dir, 'without'))).foldInBase).toBeNull();
    loaded.dispose();
    m.dispose();
  });

  it('refuse a changed fold-in-base.json (checksum)', async () => {
    const m = foldInModel();
    await saveModel(m, join(dir, 'a'));
    const file = join(dir, 'a', 'fold-in-base.json');
    const json = JSON.parse(await readFile(file, 'utf8'));
    json.users += 1;
    await writeFile(file, JSON.stringify(json));
    await expect(loadModel(join(dir, 'a'))).rejects.toThrow(/fold-in-base\.json/);
    m.dispose();
  });
});
