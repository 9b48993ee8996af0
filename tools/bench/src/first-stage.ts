/**
 * The first stage of two-stage ranking (core rankShortlist) over a large catalog, read from
 * float32 rows and from their half-precision copy (WARMSTART_HALF_SCAN off / on): the scan reads
 * every item's [65] retrieval row once per call, so memory bandwidth bounds it. Measured for a
 * model without user features (the first stage is exact: the scan is the whole call, and the
 * half-precision result is made exact by rescoring near the cut) and for one with them (a
 * shortlist of 2,000 scored by the network).
 */
import {
  adapt,
  ANIL_LOCAL_GROUPS,
  createModel,
  FeatureSpec,
  rankShortlist,
  type EncodedItems,
  type ItemRecord,
  type Rating,
  type UserRecord,
} from '@warmstart/core';
import { percentile, timeMs, type FigureLog } from './figures';

const GENRES = Array.from({ length: 19 }, (_, i) => `g${i}`);
const PAGE = 1000; // the serving catalog's page size

/** Deterministic synthetic items (genres, year), `n` of them. */
function items(n: number): ItemRecord[] {
  let a = 7;
  const r = () => {
    a = (a * 1103515245 + 12345) % 2 ** 31;
    return a / 2 ** 31;
  };
  return Array.from({ length: n }, (_, i) => ({
    id: `i${i}`,
    features: { genres: GENRES.filter(() => r() < 0.12), release_year: 1930 + Math.floor(r() * 68) },
  }));
}

async function median(reps: number, run: () => void): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps + 3; i++) {
    const t = await timeMs(run);
    if (i >= 3) times.push(t);
  }
  return percentile(times, 50);
}

/** p50 of one rankShortlist call with the half-precision scan off and on, and their ratio. */
export async function firstStage(log: FigureLog, quick: boolean, note: string): Promise<void> {
  const n = quick ? 20_000 : 100_000;
  const catalog = items(n);
  const byId = new Map(catalog.map((i) => [i.id, i]));
  const user: UserRecord = { id: 'u', features: { gender: 'F' } };
  const support: Rating[] = Array.from({ length: 20 }, (_, i) => ({
    itemId: `i${i * 37}`,
    value: 1 + (i % 5),
  }));
  const itemDecl = [
    { name: 'genres', kind: 'multi_categorical' as const },
    { name: 'release_year', kind: 'numeric' as const },
  ];
  for (const [name, userFields, size] of [
    ['no_user_features', [], 10],
    ['user_features', [{ name: 'gender', kind: 'categorical' as const }], 2000],
  ] as const) {
    const spec = FeatureSpec.fromData({ user: [...userFields], item: itemDecl }, [user], catalog);
    const model = createModel(spec, {
      embeddingDim: 32,
      hidden: [64, 64],
      seed: 1,
      localGroups: ANIL_LOCAL_GROUPS,
      bayesHead: true,
    });
    const pages: EncodedItems[] = [];
    for (let at = 0; at < n; at += PAGE) pages.push(model.encodeItems(catalog.slice(at, at + PAGE)));
    const adapted = adapt(model, [{ user, support }], byId);
    const call = () => void rankShortlist(adapted, 0, pages, { size, top: 10 });
    const ms: Record<string, number> = {};
    for (const mode of ['off', 'on']) {
      process.env.WARMSTART_HALF_SCAN = mode;
      ms[mode] = await median(quick ? 20 : 200, call);
      log.add(
        `first_stage.${name}.items${n}.half_${mode}.p50`,
        ms[mode]!,
        'ms',
        `${note}; rankShortlist, shortlist ${size}, top 10, pages of ${PAGE}`,
      );
    }
    delete process.env.WARMSTART_HALF_SCAN;
    log.add(`first_stage.${name}.items${n}.speedup`, ms.off! / ms.on!, 'x', 'float32 p50 / half p50');
    adapted.dispose();
    for (const p of pages) p.dispose();
    model.dispose();
  }
}
