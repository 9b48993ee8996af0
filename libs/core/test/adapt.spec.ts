import { adapt, createModel, initBackend, recommend, score, ValidationError } from '../src';
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
