/**
 * Two-stage ranking (rankShortlist): a first stage on the items' reference-user trunk features,
 * then the network on the shortlist. Its scores must be the network's (equal to score()), its
 * order the network's, excluded rows never returned, and where the trunk ignores the user (no
 * user features) the first stage must be exact, so a shortlist of k is the exhaustive top k.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  adapt,
  ANIL_LOCAL_GROUPS,
  canShortlist,
  createModel,
  firstStageIsExact,
  EncodedItems,
  FeatureSpec,
  initBackend,
  rankShortlist,
  score,
  type AdaptRequest,
  type ModelConfig,
  type RecommenderModel,
} from '../src';
import { hostToHalf } from '../src/native-kernels';
import { kthLargest } from '../src/retrieval/kth-largest';
import { Rng } from '../src/rng';
import { DECL, makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(3, 24, 60, 12);

describe('kthLargest', () => {
  it('is the k-th value of a descending sort, with ties and -Infinity', () => {
    const rng = new Rng(4);
    for (const n of [1, 2, 7, 100, 1001]) {
      const values = Float32Array.from({ length: n }, () =>
        rng.next() < 0.1 ? -Infinity : Math.round(rng.normal() * 4),
      );
      const sorted = Array.from(values).sort((a, b) => b - a);
      for (const k of [1, Math.ceil(n / 3), n]) expect(kthLargest(values, k)).toBe(sorted[k - 1]);
    }
    expect(() => kthLargest(new Float32Array(3), 4)).toThrow(/k must be/);
  });
});

/** Items split over three sets, the last a selection of rows of another set (as a catalog's pages). */
function pagesOf(model: RecommenderModel): EncodedItems[] {
  const a = model.encodeItems(world.items.slice(0, 25));
  const b = model.encodeItems(world.items.slice(25, 45));
  const source = model.encodeItems(world.items.slice(45));
  const c = EncodedItems.select(Array.from({ length: source.size }, (_, row) => ({ source, row })));
  source.dispose();
  return [a, b, c];
}

function requests(): AdaptRequest[] {
  const out: AdaptRequest[] = world.tasks.slice(0, 4).map((t) => ({ user: t.user, support: t.support }));
  out.push({ user: { id: 'new', features: {} }, support: [] });
  return out;
}

/**
 * A shared trunk of two decision layers (what two-stage ranking applies to), its head drawn away
 * from zero so that the order is not decided by the items' offsets alone.
 */
function twoLayerModel(spec: FeatureSpec, seed: number, config: Partial<ModelConfig> = {}) {
  const model = createModel(spec, {
    embeddingDim: 4,
    hidden: [8, 6],
    seed,
    localGroups: ANIL_LOCAL_GROUPS,
    ...config,
  });
  tf.tidy(() => {
    const g = model.globals();
    (g['out.w'] as tf.Variable).assign(tf.randomNormal(g['out.w'].shape, 0, 1, 'float32', seed));
  });
  return model;
}

const CONFIGS: [string, Partial<ModelConfig>][] = [
  ['rating', {}],
  ['implicit', { task: 'implicit' }],
];

/**
 * Every candidate shortlisted for user `u`: checks each score is the network's (score()) and the
 * order best first, and returns the ranking.
 */
function rankedWhole(adapted: ReturnType<typeof adapt>, u: number, sets: EncodedItems[]) {
  const exact = sets.map((s) => score(adapted, u, s));
  const all = rankShortlist(adapted, u, sets, { size: 1000 });
  expect(all).toHaveLength(world.items.length);
  for (const e of all) expect(Math.abs(e.score - exact[e.set]![e.row]!)).toBeLessThan(1e-5);
  for (let i = 1; i < all.length; i++) expect(all[i - 1]!.score).toBeGreaterThanOrEqual(all[i]!.score - 1e-6);
  return all;
}

describe.each(CONFIGS)('rankShortlist, %s', (_name, config) => {
  it('scores the shortlist exactly, best first, without excluded rows', () => {
    const model = twoLayerModel(world.spec, 9, config);
    const adapted = adapt(model, requests(), world.catalog);
    const sets = pagesOf(model);
    try {
      expect(canShortlist(adapted, sets)).toBe(true);
      for (let u = 0; u < adapted.size; u++) {
        const exact = sets.map((s) => score(adapted, u, s));
        // Everything shortlisted: every candidate, in the network's order.
        rankedWhole(adapted, u, sets);
        // A short list with rows excluded.
        const exclude = [[0, 3], undefined, [1]];
        const some = rankShortlist(adapted, u, sets, { size: 10, exclude });
        expect(some).toHaveLength(10);
        for (const e of some) {
          expect(exclude[e.set]?.includes(e.row) ?? false).toBe(false);
          expect(Math.abs(e.score - exact[e.set]![e.row]!)).toBeLessThan(1e-5);
        }
        expect(new Set(some.map((e) => `${e.set}:${e.row}`)).size).toBe(10);
        // `top` returns the head of the same order.
        const key = (e: { set: number; row: number }) => `${e.set}:${e.row}`;
        expect(rankShortlist(adapted, u, sets, { size: 10, exclude, top: 3 }).map(key)).toEqual(
          some.slice(0, 3).map(key),
        );
        expect(rankShortlist(adapted, u, sets, { size: 10, top: 0 })).toEqual([]);
      }
      expect(() => rankShortlist(adapted, 0, sets, { size: 0 })).toThrow(/options.size/);
      expect(() => rankShortlist(adapted, 0, sets, { size: 3, top: -1 })).toThrow(/options.top/);
      expect(() => rankShortlist(adapted, adapted.size, sets, { size: 3 })).toThrow(/userIndex/);
    } finally {
      for (const s of sets) s.dispose();
      adapted.dispose();
      model.dispose();
    }
  });
});

describe('rankShortlist without user features', () => {
  it('has an exact first stage: a shortlist of k is the exhaustive top k, scored without the network', async () => {
    const spec = FeatureSpec.fromData({ user: [], item: DECL.item }, world.users, world.items);
    const model = twoLayerModel(spec, 2);
    const adapted = adapt(model, requests(), world.catalog, { ridge: 1 });
    const sets = pagesOf(model);
    try {
      expect(firstStageIsExact(model)).toBe(true);
      const key = (e: { set: number; row: number }) => `${e.set}:${e.row}`;
      for (let u = 0; u < adapted.size; u++) {
        const all = rankedWhole(adapted, u, sets);
        const top = rankShortlist(adapted, u, sets, { size: 5 });
        expect(top.map(key)).toEqual(all.slice(0, 5).map(key));
        expect(rankShortlist(adapted, u, sets, { size: 50, top: 3 }).map(key)).toEqual(
          all.slice(0, 3).map(key),
        );
        expect(rankShortlist(adapted, u, sets, { size: 5, top: 0 })).toEqual([]);
        const exclude = sets.map((_, s) => (s === all[0]!.set ? [all[0]!.row] : undefined));
        expect(rankShortlist(adapted, u, sets, { size: 4, exclude }).map(key)).toEqual(
          all.slice(1, 5).map(key),
        );
      }
      // No backend kernel runs: the scan is host code and the network is skipped (a model whose
      // first stage is an approximation runs its trunk on the shortlist).
      const skipped = await tf.profile(() => void rankShortlist(adapted, 0, sets, { size: 10 }));
      expect(skipped.kernels).toHaveLength(0);
      const withUsers = twoLayerModel(world.spec, 2);
      const users = adapt(withUsers, requests(), world.catalog, { ridge: 1 });
      const theirs = pagesOf(withUsers);
      try {
        expect(firstStageIsExact(withUsers)).toBe(false);
        const run = await tf.profile(() => void rankShortlist(users, 0, theirs, { size: 10 }));
        expect(run.kernels.length).toBeGreaterThan(0);
      } finally {
        for (const s of theirs) s.dispose();
        users.dispose();
        withUsers.dispose();
      }
    } finally {
      for (const s of sets) s.dispose();
      adapted.dispose();
      model.dispose();
    }
  });
});

describe('canShortlist', () => {
  it.each([
    [
      'one decision layer (exact scoring is already one dot product)',
      { localGroups: ANIL_LOCAL_GROUPS, hidden: [8] },
    ],
    ['a per-user trunk (melu)', { hidden: [8, 6] }],
  ] as [string, Partial<ModelConfig>][])('is false for %s, and rankShortlist says why', (_n, config) => {
    const model = createModel(world.spec, { embeddingDim: 4, seed: 1, ...config });
    const adapted = adapt(model, requests(), world.catalog);
    const items = model.encodeItems(world.items);
    try {
      expect(canShortlist(adapted, [items])).toBe(false);
      expect(() => rankShortlist(adapted, 0, [items], { size: 3 })).toThrow(/sets.*retrieval features/);
    } finally {
      items.dispose();
      adapted.dispose();
      model.dispose();
    }
  });
});

describe('encoded items of a shared-trunk model', () => {
  it('keep only pre0 and offset in the backend; the other fields on the host, read back on demand', () => {
    const model = twoLayerModel(world.spec, 3);
    const before = tf.memory().numTensors;
    const items = model.encodeItems(world.items);
    try {
      expect(tf.memory().numTensors).toBe(before + 2);
      expect(items.hostValues('retrieval')).toHaveLength(world.items.length * 7); // H = 6, plus the offset
      // A field read as a tensor is made from its host values, equal to them.
      expect(Array.from(items.x.dataSync())).toEqual(Array.from(items.hostValues('x')));
      expect(tf.memory().numTensors).toBe(before + 3);
      items.dispose();
      expect(tf.memory().numTensors).toBe(before);
    } finally {
      items.dispose();
      model.dispose();
    }
  });
});

/** Large pages (the half-precision scan's size) made of rows of `source`, in a seeded shuffle. */
function largePages(model: RecommenderModel, sizes: number[], seed: number): EncodedItems[] {
  const source = model.encodeItems(world.items);
  const rng = new Rng(seed);
  try {
    return sizes.map((n) =>
      EncodedItems.select(
        Array.from({ length: n }, () => ({ source, row: Math.floor(rng.next() * source.size) })),
      ),
    );
  } finally {
    source.dispose();
  }
}

/** rankShortlist with the half-precision scan on or off (WARMSTART_HALF_SCAN). */
function withHalfScan<T>(on: boolean, run: () => T): T {
  const before = process.env.WARMSTART_HALF_SCAN;
  process.env.WARMSTART_HALF_SCAN = on ? 'on' : 'off';
  try {
    return run();
  } finally {
    if (before === undefined) delete process.env.WARMSTART_HALF_SCAN;
    else process.env.WARMSTART_HALF_SCAN = before;
  }
}

describe('rankShortlist over large pages (half-precision first stage)', () => {
  it('gives the float32 scan’s exact answer where the first stage is exact, ties and exclusions included', () => {
    const spec = FeatureSpec.fromData({ user: [], item: DECL.item }, world.users, world.items);
    const model = twoLayerModel(spec, 4);
    const adapted = adapt(model, requests(), world.catalog, { ridge: 1 });
    // 60 distinct items repeated over 2,900 rows: every score ties with dozens of others.
    const sets = [...largePages(model, [1200, 700], 1), ...pagesOf(model)];
    try {
      expect(firstStageIsExact(model)).toBe(true);
      for (let u = 0; u < adapted.size; u++) {
        for (const options of [
          { size: 10 },
          { size: 1 },
          { size: 40, top: 7 },
          { size: 25, exclude: [[0, 1, 2, 3], undefined, [5]] },
        ]) {
          const f32 = withHalfScan(false, () => rankShortlist(adapted, u, sets, options));
          const half = withHalfScan(true, () => rankShortlist(adapted, u, sets, options));
          expect(half).toEqual(f32);
        }
      }
      // The pages were scanned from halves whenever the native kernels can make them (CI requires
      // them), the small sets from float32.
      const canHalve = hostToHalf(Float32Array.of(1), 1) !== null;
      if (process.env.WARMSTART_REQUIRE_NATIVE_KERNELS === '1') expect(canHalve).toBe(true);
      expect(sets[0]!.hostHalf('retrieval') !== null).toBe(canHalve);
    } finally {
      for (const s of sets) s.dispose();
      adapted.dispose();
      model.dispose();
    }
  });

  it('falls back to the float32 scan when too many rows sit within the rounding of the cut', () => {
    const spec = FeatureSpec.fromData({ user: [], item: DECL.item }, world.users, world.items);
    const model = twoLayerModel(spec, 5);
    const adapted = adapt(model, requests(), world.catalog, { ridge: 1 });
    const source = model.encodeItems(world.items.slice(0, 1));
    // One item 5,000 times: every row ties, more than the rows rescored one by one.
    const sets = [EncodedItems.select(Array.from({ length: 5000 }, () => ({ source, row: 0 })))];
    source.dispose();
    try {
      const f32 = withHalfScan(false, () => rankShortlist(adapted, 0, sets, { size: 10 }));
      const half = withHalfScan(true, () => rankShortlist(adapted, 0, sets, { size: 10 }));
      expect(half).toEqual(f32);
      expect(half.map((e) => e.row)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      for (const s of sets) s.dispose();
      adapted.dispose();
      model.dispose();
    }
  });

  it.each(CONFIGS)(
    'still scores the shortlist exactly with the network (%s, user features)',
    (_name, config) => {
      const model = twoLayerModel(world.spec, 6, config);
      const adapted = adapt(model, requests(), world.catalog);
      const sets = largePages(model, [800, 600], 2);
      try {
        expect(firstStageIsExact(model)).toBe(false);
        for (let u = 0; u < adapted.size; u++) {
          const exact = sets.map((s) => score(adapted, u, s));
          const half = withHalfScan(true, () => rankShortlist(adapted, u, sets, { size: 50, top: 10 }));
          expect(half).toHaveLength(10);
          for (const e of half) expect(Math.abs(e.score - exact[e.set]![e.row]!)).toBeLessThan(1e-5);
          for (let i = 1; i < half.length; i++)
            expect(half[i - 1]!.score).toBeGreaterThanOrEqual(half[i]!.score);
        }
      } finally {
        for (const s of sets) s.dispose();
        adapted.dispose();
        model.dispose();
      }
    },
  );
});
