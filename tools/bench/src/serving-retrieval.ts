import * as grpc from '@grpc/grpc-js';
import {
  RecommenderServiceClient,
  type RecommendRequest,
  type RecommendResponse,
} from '@warmstart/contracts';
import type { FigureLog } from './figures';
import { countItems, growCatalog, type ChurnDeps } from './serving-churn';
import { rssMb } from './serving-users';

export interface RetrievalSetup {
  database: string;
  artifacts: string;
  /** Stored users: the overlap is measured on them, and the callers call as them. */
  users: readonly string[];
  quick: boolean;
  seconds: number;
}

const CALLERS = 16;
const K = 10;
/** Users whose two-stage top 10 is compared with exhaustive scoring (a quarter beyond 100k items). */
const OVERLAP_USERS = 200;

/**
 * Two-stage ranking of all active items (`--shortlist-size`, the default) against exhaustive
 * scoring (`--shortlist-size 0`), on the same catalog grown to each size with synthetic items:
 * start-up, throughput and latency at 16 callers of stored users (all-active Recommend, k 10),
 * server CPU per call, and the overlap of each user's top 10 with the exhaustive one, by id and
 * by score (a two-stage item counts when its score reaches the exhaustive 10th: items the model
 * scores equally are interchangeable, and clamped ratings tie often).
 */
export async function measureRetrieval(
  log: FigureLog,
  deps: ChurnDeps,
  setup: RetrievalSetup,
): Promise<void> {
  // WARMSTART_BENCH_RETRIEVAL_SIZES=100000,1000000 picks the catalog sizes.
  const listed = process.env['WARMSTART_BENCH_RETRIEVAL_SIZES']?.split(',').map(Number);
  if (listed?.some((n) => !(Number.isInteger(n) && n > 0)))
    throw new Error('bench serving: WARMSTART_BENCH_RETRIEVAL_SIZES must list positive integers');
  const sizes = listed ?? (setup.quick ? [10_000] : [10_000, 100_000]);
  let stored = await countItems(setup.database);
  for (const size of sizes) {
    if (stored > size) {
      // Catalogs only grow (an earlier point may have grown this one past the size).
      console.log(`  retrieval catalog=${size}: skipped, the store already holds ${stored} items`);
      continue;
    }
    const growing = performance.now();
    stored = await growCatalog(setup.database, stored, size);
    log.add(`retrieval catalog=${size} catalog grown`, (performance.now() - growing) / 1000, 's');
    // Exhaustive scoring of a catalog beyond 100k costs seconds per call: there, only the overlap
    // of fewer users is measured for it, not its throughput.
    const huge = size > 100_000;
    const users = setup.users.slice(0, huge ? OVERLAP_USERS / 4 : OVERLAP_USERS);
    const tops: Record<string, RecommendResponse[]> = {};
    // WARMSTART_BENCH_SHORTLIST=1000,2000 runs the two-stage server with each --shortlist-size
    // (default: the server's own).
    const shortlists = process.env['WARMSTART_BENCH_SHORTLIST']?.split(',') ?? [undefined];
    const modes: [string, string[]][] = [
      ['exhaustive', ['--shortlist-size', '0']],
      ...shortlists.map((n): [string, string[]] =>
        n ? [`two-stage shortlist=${n}`, ['--shortlist-size', n]] : ['two-stage', []],
      ),
    ];
    for (const [mode, args] of modes) {
      const tag = `retrieval catalog=${size} ${mode}`;
      const booting = performance.now();
      const server = await deps.startServer(setup.database, setup.artifacts, true, 1, args);
      log.add(`${tag} start-up until ready`, (performance.now() - booting) / 1000, 's');
      log.add(`${tag} server RSS when ready`, rssMb(server.pid), 'MB');
      const clients = Array.from(
        { length: 8 },
        (_, k) =>
          new RecommenderServiceClient(server.address, grpc.credentials.createInsecure(), {
            'grpc.primary_user_agent': `retrieval-${k}`,
          }),
      );
      try {
        const request = (i: number): RecommendRequest => ({
          user: { userId: setup.users[i % setup.users.length]!, features: {}, support: [] },
          candidates: { source: { $case: 'allActive', value: {} } },
          k: K,
          includeSeen: false,
        });
        tops[mode] = await topsOf(clients[0]!, users, request);
        if (huge && mode === 'exhaustive') continue;
        await deps.drive(clients, 8, setup.users.length, request); // adapted states cached
        await deps.drive(clients, CALLERS, Infinity, request, setup.quick ? 500 : 2000);
        const cpu0 = deps.cpuMs(server.pid);
        const r = await deps.drive(clients, CALLERS, Infinity, request, setup.seconds * 1000);
        const cpu1 = deps.cpuMs(server.pid);
        log.add(`${tag} callers=${CALLERS} throughput`, r.rps, 'req/s', `${r.ok} ok, ${r.failed} failed`);
        log.add(`${tag} callers=${CALLERS} p50`, r.p50, 'ms');
        log.add(`${tag} callers=${CALLERS} p99`, r.p99, 'ms');
        if (cpu0 !== undefined && cpu1 !== undefined)
          log.add(`${tag} server CPU per call`, (cpu1 - cpu0) / Math.max(1, r.ok), 'ms');
      } finally {
        for (const c of clients) c.close();
        await server.stop();
      }
    }
    const note = `${users.length} stored users, top ${K}`;
    for (const [mode] of modes.slice(1)) {
      const { byId, byScore, shortfall } = overlap(tops['exhaustive']!, tops[mode]!);
      const tag = `retrieval catalog=${size} ${mode} top-10 overlap with exhaustive`;
      log.add(`${tag}, by id`, byId, '', note);
      log.add(`${tag}, by score`, byScore, '', `${note}; target >= 0.95`);
      log.add(
        `retrieval catalog=${size} ${mode} top-10 mean score below exhaustive`,
        shortfall,
        '',
        'predicted rating (or score) per recommended item',
      );
    }
  }
}

/** Each user's all-active top k, one call at a time. */
async function topsOf(
  client: InstanceType<typeof RecommenderServiceClient>,
  users: readonly string[],
  request: (i: number) => RecommendRequest,
): Promise<RecommendResponse[]> {
  const out: RecommendResponse[] = [];
  for (let i = 0; i < users.length; i++)
    out.push(
      await new Promise<RecommendResponse>((resolve, reject) =>
        client.recommend(request(i), (err, res) => (err ? reject(err) : resolve(res))),
      ),
    );
  return out;
}

/**
 * Mean share of each two-stage top k found in the exhaustive one (by id; by reaching its k-th
 * score), and the mean score the two-stage top k gives up per item against the exhaustive one.
 */
function overlap(
  exhaustive: readonly RecommendResponse[],
  twoStage: readonly RecommendResponse[],
): { byId: number; byScore: number; shortfall: number } {
  let byId = 0;
  let byScore = 0;
  let shortfall = 0;
  exhaustive.forEach((full, u) => {
    const ids = new Set(full.items.map((x) => x.itemId));
    const kth = Math.min(...full.items.map((x) => x.score));
    const got = twoStage[u]!.items;
    const k = Math.max(1, full.items.length);
    byId += got.filter((x) => ids.has(x.itemId)).length / k;
    byScore += got.filter((x) => x.score >= kth - 1e-4).length / k;
    const sum = (items: readonly { score: number }[]) => items.reduce((t, x) => t + x.score, 0);
    shortfall += (sum(full.items) - sum(got)) / k;
  });
  const n = exhaustive.length;
  return { byId: byId / n, byScore: byScore / n, shortfall: shortfall / n };
}
