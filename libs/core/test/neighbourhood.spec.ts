/**
 * The item neighbourhood term (neighbours/): item-kNN lists built from co-occurrences, re-indexed
 * and serialised, and the term every scorer adds to a ranking model's logits. The expected values
 * come from a brute-force cosine over the same interactions, not from the code under test.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adapt,
  attachRanker,
  buildItemNeighbours,
  buildNegativePool,
  fitContentIdf,
  setContentNeighbourhood,
  createModel,
  EncodedItems,
  FeatureSpec,
  initBackend,
  ItemNeighbours,
  loadModel,
  rankShortlist,
  saveModel,
  score,
  scoreBatch,
  setNeighbourhood,
  type AdaptRequest,
  type ModelConfig,
  type RecommenderModel,
  type Task,
} from '../src';
import { DECL, makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(5, 30, 40, 10);
/** Every rating an interaction (value 1). */
const tasks: Task[] = world.tasks.map((t) => ({
  user: t.user,
  support: t.support.map((r) => ({ itemId: r.itemId, value: 1 })),
  query: t.query.map((r) => ({ itemId: r.itemId, value: 1 })),
}));
/** The model knows the first 35 items; the last 5 are new to it. */
const known = world.items.slice(0, 35).map((i) => i.id);

/** Users' item sets, from every task's support and query. */
function itemSets(): Map<string, Set<string>> {
  const sets = new Map<string, Set<string>>();
  for (const t of tasks) sets.set(t.user.id, new Set([...t.support, ...t.query].map((r) => r.itemId)));
  return sets;
}

/** Brute-force cosine of two items' user columns. */
function cosine(a: string, b: string): number {
  let co = 0;
  let na = 0;
  let nb = 0;
  for (const items of itemSets().values()) {
    const hasA = items.has(a);
    const hasB = items.has(b);
    if (hasA) na++;
    if (hasB) nb++;
    if (hasA && hasB) co++;
  }
  return co === 0 ? 0 : co / Math.sqrt(na * nb);
}

/** A CSR/CSC co-occurrence source over item ids in `order`. */
function sourceOf(order: readonly string[]) {
  const index = new Map(order.map((id, i) => [id, i]));
  const rows = [...itemSets().values()].map((s) => [...s].map((id) => index.get(id)!).sort((a, b) => a - b));
  const rowPtr = new Int32Array(rows.length + 1);
  rows.forEach((r, u) => (rowPtr[u + 1] = rowPtr[u]! + r.length));
  const rowItems = Int32Array.from(rows.flat());
  const cols: number[][] = order.map(() => []);
  rows.forEach((r, u) => r.forEach((i) => cols[i]!.push(u)));
  const colPtr = new Int32Array(order.length + 1);
  cols.forEach((c, i) => (colPtr[i + 1] = colPtr[i]! + c.length));
  return { rowPtr, rowItems, colPtr, colUsers: Int32Array.from(cols.flat()) };
}

/** Neighbours of the model's items from every task's interactions (lists complete: K >= items). */
function neighboursFor(model: RecommenderModel, k = 100): ItemNeighbours {
  const interactions = tasks.flatMap((t) =>
    [...t.support, ...t.query].map((r) => ({ userId: t.user.id, itemId: r.itemId })),
  );
  return buildItemNeighbours(model, interactions, k);
}

function rankingModel(config: Partial<ModelConfig> = {}): RecommenderModel {
  const model = createModel(world.spec, {
    task: 'implicit',
    negatives: { perPositive: 2, distribution: 'uniform' },
    embeddingDim: 4,
    hidden: [8, 6],
    seed: 3,
    localGroups: ['output'],
    idEmbeddings: { itemIds: known },
    ...config,
  });
  buildNegativePool(model, tasks, world.catalog);
  return model;
}

/** Users 0-3 on their support sets, one with a support item new to the model, and a cold user. */
function requests(): AdaptRequest[] {
  const out: AdaptRequest[] = tasks.slice(0, 4).map((t) => ({ user: t.user, support: t.support }));
  out[1] = { ...out[1]!, support: [...out[1]!.support, { itemId: world.items[38]!.id, value: 1 }] };
  out.push({ user: { id: 'cold', features: {} }, support: [] });
  return out;
}

/** weight * sum over the request's known support items of cosine(item, support item), brute force. */
function expectedTerm(request: AdaptRequest, itemId: string, weight: number): number {
  if (!known.includes(itemId)) return 0;
  let sum = 0;
  for (const id of new Set(request.support.map((r) => r.itemId))) {
    if (known.includes(id) && id !== itemId) sum += cosine(itemId, id);
  }
  return weight * sum;
}

describe('ItemNeighbours', () => {
  it('keeps each item’s K most similar items by cosine, best first', () => {
    const order = world.items.map((i) => i.id);
    const nb = ItemNeighbours.build(sourceOf(order), 3);
    for (let i = 0; i < order.length; i++) {
      const expected = order
        .map((id, j) => ({ j, sim: j === i ? 0 : cosine(order[i]!, id) }))
        .filter((e) => e.sim > 0)
        .sort((a, b) => b.sim - a.sim || a.j - b.j)
        .slice(0, 3);
      const got = Array.from(nb.items.subarray(nb.ptr[i], nb.ptr[i + 1]));
      expect(got).toEqual(expected.map((e) => e.j));
      expected.forEach((e, n) => expect(nb.sims[nb.ptr[i]! + n]).toBeCloseTo(e.sim, 6));
    }
    expect(() => ItemNeighbours.build(sourceOf(order), 0)).toThrow(/maxK/);
  });

  it('is built over a model’s item ID rows (unknown items skipped) and round-trips through bytes', () => {
    const model = rankingModel();
    try {
      const nb = neighboursFor(model);
      expect(nb.size).toBe(known.length + 1);
      expect(nb.ptr[1]).toBe(0); // row 0 (no ID) has no neighbours
      for (const id of known) {
        const row = model.itemIdIndex.get(id)!;
        const got = new Map<number, number>();
        for (let e = nb.ptr[row]!; e < nb.ptr[row + 1]!; e++) got.set(nb.items[e]!, nb.sims[e]!);
        const expected = known.filter((other) => other !== id && cosine(id, other) > 0);
        expect([...got.keys()].sort((a, b) => a - b)).toEqual(
          expected.map((other) => model.itemIdIndex.get(other)!).sort((a, b) => a - b),
        );
        for (const other of expected)
          expect(got.get(model.itemIdIndex.get(other)!)).toBeCloseTo(cosine(id, other), 6);
      }
      const { bytes, size, entries } = nb.toBytes();
      const back = ItemNeighbours.fromBytes(bytes.subarray(0), size, entries);
      expect(Array.from(back.ptr)).toEqual(Array.from(nb.ptr));
      expect(Array.from(back.items)).toEqual(Array.from(nb.items));
      expect(Array.from(back.sims)).toEqual(Array.from(nb.sims));
      expect(() => ItemNeighbours.fromBytes(bytes.subarray(4), size, entries)).toThrow(/bytes/);
      const bad = bytes.slice();
      new DataView(bad.buffer).setInt32(4 * (size + 1), size + 5, true); // first item out of range
      expect(() => ItemNeighbours.fromBytes(bad, size, entries)).toThrow(/items must lie/);
    } finally {
      model.dispose();
    }
  });
});

describe('the neighbourhood term', () => {
  it('adds weight * sum of cosines to the support items in score, scoreBatch and recommend order', () => {
    const model = rankingModel();
    const reqs = requests();
    const plain = adapt(model, reqs, world.catalog);
    setNeighbourhood(model, { neighbours: neighboursFor(model), weight: 0.7 });
    const withTerm = adapt(model, reqs, world.catalog);
    const items = model.encodeItems(world.items);
    try {
      const batch = scoreBatch(withTerm, [0, 1, 2, 3, 4], items);
      reqs.forEach((req, u) => {
        const base = score(plain, u, items);
        const got = score(withTerm, u, items);
        world.items.forEach((item, i) => {
          expect(got[i]).toBeCloseTo(base[i]! + expectedTerm(req, item.id, 0.7), 4);
          expect(batch[u * items.size + i]).toBeCloseTo(got[i]!, 4);
        });
      });
      // The cold user and the new items get no term.
      expect(Array.from(score(withTerm, 4, items))).toEqual(Array.from(score(plain, 4, items)));
      // A user's own copy (as caches keep) carries its support items.
      const one = withTerm.user(2);
      expect(Array.from(score(one, 0, items))).toEqual(Array.from(score(withTerm, 2, items)));
      one.dispose();
    } finally {
      items.dispose();
      plain.dispose();
      withTerm.dispose();
      model.dispose();
    }
  });

  it('reaches every row of an item listed twice in a set, and weight 0 or none is the network alone', () => {
    const model = rankingModel();
    const reqs = requests();
    const plain = adapt(model, reqs, world.catalog);
    const twice = [world.items[3]!, world.items[7]!, world.items[3]!];
    const items = model.encodeItems(twice);
    try {
      const base = score(plain, 0, items);
      setNeighbourhood(model, { neighbours: neighboursFor(model), weight: 0 });
      const zero = adapt(model, reqs, world.catalog);
      expect(Array.from(score(zero, 0, items))).toEqual(Array.from(base));
      zero.dispose();
      setNeighbourhood(model, { neighbours: neighboursFor(model), weight: 2 });
      const on = adapt(model, reqs, world.catalog);
      const got = score(on, 0, items);
      on.dispose();
      twice.forEach((item, r) =>
        expect(got[r]).toBeCloseTo(base[r]! + expectedTerm(reqs[0]!, item.id, 2), 4),
      );
      expect(got[0]).toBe(got[2]);
      expect(got[0]).not.toBeCloseTo(base[0]!, 3); // the term is not zero here
    } finally {
      items.dispose();
      plain.dispose();
      model.dispose();
    }
  });

  it('joins both stages of rankShortlist, which still returns the exact top k', () => {
    const spec = FeatureSpec.fromData({ user: [], item: DECL.item }, world.users, world.items);
    for (const s of [world.spec, spec]) {
      const m = createModel(s, {
        task: 'implicit',
        negatives: { perPositive: 2, distribution: 'uniform' },
        embeddingDim: 4,
        hidden: [8, 6],
        seed: 3,
        localGroups: ['output'],
        idEmbeddings: { itemIds: known },
      });
      buildNegativePool(m, tasks, world.catalog);
      setNeighbourhood(m, { neighbours: neighboursFor(m), weight: 1.5 });
      const adapted = adapt(m, requests(), world.catalog);
      const a = m.encodeItems(world.items.slice(0, 20));
      const source = m.encodeItems(world.items.slice(20));
      const b = EncodedItems.select(Array.from({ length: source.size }, (_, row) => ({ source, row })));
      source.dispose();
      try {
        for (let u = 0; u < adapted.size; u++) {
          const exact = [score(adapted, u, a), score(adapted, u, b)];
          const all = [...exact[0]!]
            .map((v, row) => ({ set: 0, row, v }))
            .concat([...exact[1]!].map((v, row) => ({ set: 1, row, v })));
          all.sort((x, y) => y.v - x.v);
          const top = rankShortlist(adapted, u, [a, b], { size: 40, top: 5 });
          top.forEach((e, n) => {
            expect(e.score).toBeCloseTo(exact[e.set]![e.row]!, 4);
            expect(e.score).toBeCloseTo(all[n]!.v, 4);
          });
        }
      } finally {
        a.dispose();
        b.dispose();
        adapted.dispose();
        m.dispose();
      }
    }
  });

  it('is refused on models that cannot carry it, with the field named', () => {
    const model = rankingModel();
    const rating = createModel(world.spec, { embeddingDim: 4, seed: 1, idEmbeddings: { itemIds: known } });
    try {
      const neighbours = neighboursFor(model);
      expect(() => setNeighbourhood(rating, { neighbours, weight: 1 })).toThrow(/^model: .*ranking models/);
      expect(() => setNeighbourhood(model, { neighbours, weight: -1 })).toThrow(/neighbourhood\.weight/);
      expect(() => setNeighbourhood(model, { neighbours, weight: NaN })).toThrow(/neighbourhood\.weight/);
      const other = rankingModel({ idEmbeddings: { itemIds: known.slice(0, 10) } });
      const short = neighboursFor(other);
      other.dispose();
      expect(() => setNeighbourhood(model, { neighbours: short, weight: 1 })).toThrow(
        /neighbourhood\.neighbours: must index the model's 35 item ID rows/,
      );
      setNeighbourhood(model, null);
      expect(model.neighbourhood).toBeNull();
    } finally {
      rating.dispose();
      model.dispose();
    }
  });
});

/** Content vectors as the content neighbourhood defines them, from the records (brute force). */
function contentCosine(a: string, b: string, idf: Float32Array): number {
  const spec = world.spec.item;
  const vec = (id: string) => {
    const features = world.catalog.get(id)!.features;
    const v = new Map<number, number>();
    for (const f of spec.fields) {
      if (f.kind !== 'multi_categorical' && f.kind !== 'categorical') continue;
      const values = [features[f.name]].flat().map(String);
      for (const value of values) {
        const col = spec.index.get(f.name)!.get(value);
        if (col !== undefined) v.set(col, (v.get(col) ?? 0) + idf[col]! / values.length);
      }
    }
    const norm = Math.sqrt([...v.values()].reduce((x, y) => x + y * y, 0));
    return new Map([...v].map(([c, x]) => [c, x / norm]));
  };
  const va = vec(a);
  const vb = vec(b);
  let dot = 0;
  for (const [c, x] of va) dot += x * (vb.get(c) ?? 0);
  return dot;
}

describe('the content neighbourhood', () => {
  it('weighs content columns by IDF over the catalog, and none of the missing slots or numbers', () => {
    const model = rankingModel();
    try {
      const idf = fitContentIdf(model, world.items);
      const spec = model.spec.item;
      for (const f of spec.fields) {
        if (f.kind === 'numeric') for (let c = f.offset; c < f.offset + f.width; c++) expect(idf[c]).toBe(0);
        else expect(idf[f.offset]).toBe(0);
      }
      const genres = spec.fields.find((f) => f.name === 'genres')!;
      const withContent = world.items.filter((i) => (i.features.genres as string[]).length > 0).length;
      for (const [value, col] of spec.index.get('genres')!) {
        const df = world.items.filter((i) => (i.features.genres as string[]).includes(value)).length;
        expect(col).toBeGreaterThan(genres.offset);
        expect(idf[col]).toBeCloseTo(df >= 2 ? Math.log((1 + withContent) / (1 + df)) + 1 : 0, 5);
      }
      expect(() => setContentNeighbourhood(model, { idf: idf.subarray(1), weight: 1 })).toThrow(
        /contentNeighbourhood\.idf: must hold/,
      );
      expect(() => setContentNeighbourhood(model, { idf, weight: -1 })).toThrow(
        /contentNeighbourhood\.weight/,
      );
    } finally {
      model.dispose();
    }
  });

  it('adds weight * sum of content cosines to items without an ID row only, in every scorer', () => {
    const model = rankingModel();
    const reqs = requests();
    const plain = adapt(model, reqs, world.catalog);
    const idf = fitContentIdf(model, world.items);
    setContentNeighbourhood(model, { idf, weight: 0.8 });
    const withTerm = adapt(model, reqs, world.catalog);
    const items = model.encodeItems(world.items);
    try {
      const batch = scoreBatch(withTerm, [0, 1, 2, 3, 4], items);
      let moved = 0;
      reqs.forEach((req, u) => {
        const base = score(plain, u, items);
        const got = score(withTerm, u, items);
        const support = [...new Set(req.support.map((r) => r.itemId))];
        world.items.forEach((item, i) => {
          const expected = known.includes(item.id)
            ? 0
            : 0.8 * support.reduce((sum, id) => sum + contentCosine(item.id, id, idf), 0);
          if (expected !== 0) moved++;
          expect(got[i]).toBeCloseTo(base[i]! + expected, 4);
          expect(batch[u * items.size + i]).toBeCloseTo(got[i]!, 4);
        });
      });
      expect(moved).toBeGreaterThan(0);
      const one = withTerm.user(1);
      expect(Array.from(score(one, 0, items))).toEqual(Array.from(score(withTerm, 1, items)));
      one.dispose();
      // Both stages of the shortlist see it: its top 5 is the exhaustive top 5.
      const exact = score(withTerm, 0, items);
      const order = [...exact.keys()].sort((a, b) => exact[b]! - exact[a]! || a - b);
      const top = rankShortlist(withTerm, 0, [items], { size: 40, top: 5 });
      top.forEach((e, n) => expect(e.score).toBeCloseTo(exact[order[n]!]!, 4));
    } finally {
      items.dispose();
      plain.dispose();
      withTerm.dispose();
      model.dispose();
    }
  });
});

/**
 * Loads the artifact `model` was saved to in `dir`, runs `check` on it, and expects every user of
 * requests() to score every item as `model` does; disposes both models.
 */
async function expectSameScoresLoaded(
  model: RecommenderModel,
  dir: string,
  check: (loaded: RecommenderModel) => void,
): Promise<void> {
  const loaded = await loadModel(dir);
  const items = model.encodeItems(world.items);
  const theirs = loaded.encodeItems(world.items);
  const a = adapt(model, requests(), world.catalog);
  const b = adapt(loaded, requests(), world.catalog);
  try {
    check(loaded);
    for (let u = 0; u < a.size; u++) {
      const x = score(a, u, items);
      const y = score(b, u, theirs);
      x.forEach((v, i) => expect(y[i]).toBeCloseTo(v, 5));
    }
  } finally {
    items.dispose();
    theirs.dispose();
    a.dispose();
    b.dispose();
    loaded.dispose();
    model.dispose();
  }
}

/** Flips a byte of `file` in the artifact `dir` and expects loading to refuse it by its checksum. */
async function expectCorruptRefused(dir: string, file: string): Promise<void> {
  const path = join(dir, file);
  const bytes = readFileSync(path);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(path, bytes);
  await expect(loadModel(dir)).rejects.toThrow(`${file} checksum mismatch`);
}

describe('artifacts with a neighbourhood', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'warmstart-neighbours-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('save and load it (lists, weight, scores) and refuse a corrupt neighbours.bin', async () => {
    const model = rankingModel();
    setNeighbourhood(model, { neighbours: neighboursFor(model, 4), weight: 0.3 });
    const dir = join(root, 'm');
    const manifest = await saveModel(model, dir);
    expect(manifest.neighbourhood).toEqual({
      weight: 0.3,
      size: 36,
      entries: model.neighbourhood!.neighbours.entries,
    });
    await expectSameScoresLoaded(model, dir, (loaded) => {
      expect(loaded.neighbourhood!.weight).toBe(0.3);
      expect(Array.from(loaded.neighbourhood!.neighbours.items)).toEqual(
        Array.from(model.neighbourhood!.neighbours.items),
      );
    });
    await expectCorruptRefused(dir, 'neighbours.bin');
  });

  it('keep a rating model’s ranker’s neighbourhood with the ranker', async () => {
    const rating = createModel(world.spec, { embeddingDim: 4, seed: 1, idEmbeddings: { itemIds: known } });
    const ranker = rankingModel();
    setNeighbourhood(ranker, { neighbours: neighboursFor(ranker, 4), weight: 1.25 });
    attachRanker(rating, ranker);
    const dir = join(root, 'rated');
    await saveModel(rating, dir);
    rating.dispose();
    const loaded = await loadModel(dir);
    try {
      expect(loaded.neighbourhood).toBeNull();
      expect(loaded.ranker!.neighbourhood!.weight).toBe(1.25);
      expect(loaded.ranker!.neighbourhood!.neighbours.entries).toBe(ranker.neighbourhood!.neighbours.entries);
    } finally {
      loaded.dispose();
    }
  });

  it('save and load a content neighbourhood, and refuse a corrupt content-idf.bin', async () => {
    const model = rankingModel();
    const idf = fitContentIdf(model, world.items);
    setContentNeighbourhood(model, { idf, weight: 0.4 });
    const dir = join(root, 'content');
    const manifest = await saveModel(model, dir);
    expect(manifest.contentNeighbourhood).toEqual({ weight: 0.4, width: idf.length });
    await expectSameScoresLoaded(model, dir, (loaded) =>
      expect(Array.from(loaded.contentNeighbourhood!.idf)).toEqual(Array.from(idf)),
    );
    await expectCorruptRefused(dir, 'content-idf.bin');
  });
});
