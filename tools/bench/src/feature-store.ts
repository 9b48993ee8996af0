/**
 * Feature-store benchmarks on both backends (PostgreSQL when it answers): import throughput for
 * MovieLens-100K and for synthetic interactions (targets: ML-100K under 1 s on SQLite, at least
 * 200k rows/s for 1M synthetic interactions on both), batched online read latency (100 ids), and
 * peak RSS while streaming every interaction of the synthetic store as tasks. The machine's load
 * average is recorded with them: on a shared machine it explains much of the spread.
 *
 * WARMSTART_BENCH_POINTS (comma-separated: import, reads, stream; as in the serving suite, which
 * main.ts gives no flags of its own) measures only those points, e.g. `import` for the import
 * figures alone. WARMSTART_BENCH_BACKENDS=sqlite (or postgresql) measures one backend.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  importMovieLens100k,
  importSynthetic,
  openFeatureStore,
  type FeatureStore,
} from '@warmstart/feature-store';
import { percentile, type FigureLog } from './figures';

const ML100K = process.env.WARMSTART_ML100K ?? join(__dirname, '../../../../shared/datasets/ml-100k');
const PG_URL = process.env.WARMSTART_BENCH_PG ?? 'postgresql://postgres@127.0.0.1:5432/test';

interface Backend {
  name: 'sqlite' | 'postgresql';
  /** A fresh empty database URL and its clean-up. */
  fresh(): Promise<{ url: string; drop(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'sqlite',
  async fresh() {
    const dir = mkdtempSync(join(tmpdir(), 'bench-fs-'));
    return { url: join(dir, 'bench.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
};

let schemas = 0;
const postgres: Backend = {
  name: 'postgresql',
  async fresh() {
    const schema = `bench_${process.pid}_${schemas++}`;
    return {
      url: `${PG_URL}?schema=${schema}`,
      drop: async () => {
        const c = new Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await c.end();
      },
    };
  },
};

async function pgAnswers(): Promise<boolean> {
  const c = new Client({ connectionString: PG_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

// Streams every task in a child process, so its peak RSS (getrusage maxrss) is the streaming
// footprint alone, not the generator's or the import's.
const STREAM_SCRIPT = `
const { openFeatureStore } = require('@warmstart/feature-store');
(async () => {
  const store = await openFeatureStore(process.argv[1], { migrate: false });
  const openedMb = process.memoryUsage().rss / 2 ** 20;
  let tasks = 0, ratings = 0;
  const t = Date.now();
  for await (const task of store.snapshot().tasks({ seed: 1, maxRatings: 1e9 })) {
    tasks++;
    ratings += task.support.length + task.query.length;
  }
  const seconds = (Date.now() - t) / 1000;
  await store.close();
  console.log(JSON.stringify({ tasks, ratings, seconds, openedMb, peakMb: process.resourceUsage().maxRSS / 1024 }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function streamInChild(url: string): {
  tasks: number;
  ratings: number;
  seconds: number;
  openedMb: number;
  peakMb: number;
} {
  const out = execFileSync(process.execPath, ['-e', STREAM_SCRIPT, url], {
    cwd: join(__dirname, '../../..'),
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop() ?? '{}');
}

async function readLatency(
  log: FigureLog,
  b: string,
  store: FeatureStore,
  kind: 'items' | 'users',
  n: number,
) {
  const ids =
    kind === 'items'
      ? (await store.prisma.item.findMany({ select: { id: true } })).map((r) => r.id)
      : (await store.prisma.user.findMany({ select: { id: true } })).map((r) => r.id);
  let seed = 12345;
  const pick = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return ids[seed % ids.length];
  };
  const samples: number[] = [];
  for (let k = 0; k < n; k++) {
    const batch = Array.from({ length: 100 }, pick);
    store.clear(); // measure the database, not the LRU cache
    const t = process.hrtime.bigint();
    if (kind === 'items') await store.getItems(batch);
    else await store.getUsers(batch);
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  log.add(
    `${b}.get_${kind}.100.p50`,
    percentile(samples, 50),
    'ms',
    `${n} batches of 100 random ids, cache cleared`,
  );
  log.add(`${b}.get_${kind}.100.p99`, percentile(samples, 99), 'ms');
  const warm = ids.slice(0, 100);
  if (kind === 'items') await store.getItems(warm);
  else await store.getUsers(warm);
  const hits: number[] = [];
  for (let k = 0; k < 50; k++) {
    const t = process.hrtime.bigint();
    if (kind === 'items') await store.getItems(warm);
    else await store.getUsers(warm);
    hits.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  log.add(`${b}.get_${kind}.100.cached.p50`, percentile(hits, 50), 'ms', 'all 100 ids in the LRU cache');
}

/** CPU of this process per `call(k)`, on a store opened with or without hot reads (the first 50 calls warm up). */
async function cpuPerCall(
  url: string,
  hotReads: boolean,
  n: number,
  call: (store: FeatureStore, k: number) => Promise<unknown>,
): Promise<number> {
  const store = await openFeatureStore(url, { migrate: false, hotReads });
  try {
    for (let k = 0; k < 50; k++) await call(store, k); // connect, prepare
    const cpu = process.cpuUsage();
    for (let k = 0; k < n; k++) await call(store, k);
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / n;
  } finally {
    await store.close();
  }
}

/** One figure on the driver (hotReads, the default) and through Prisma, and their ratio. */
async function driverVsPrisma(
  log: FigureLog,
  key: string,
  note: string,
  measure: (hotReads: boolean) => Promise<number>,
): Promise<void> {
  const hot = await measure(true);
  const prisma = await measure(false);
  log.add(`${key}.cpu`, hot, 'us/call', `${note}, on the driver (hotReads, the default)`);
  log.add(`${key}.prisma.cpu`, prisma, 'us/call', 'the same reads through Prisma');
  log.add(`${key}.prisma_vs_driver`, prisma / hot, 'ratio', 'CPU per call');
}

/**
 * Serving's reads for a stored user: `userWatermark` on every request, and on a cache miss (a user
 * not seen within the cache's TTL, or a server's first requests) the user, their history and the
 * history's items. CPU per call of this process on the driver and through Prisma.
 */
async function servingReadCost(log: FigureLog, b: string, url: string, n: number) {
  const ids = Array.from({ length: 900 }, (_, i) => String(i + 1)); // MovieLens user ids
  const user = (k: number) => ids[k % ids.length] as string;
  await driverVsPrisma(log, `${b}.user_watermark`, `${n} calls`, (hot) =>
    cpuPerCall(url, hot, n, (store, k) => store.userWatermark(user(k))),
  );
  const misses = Math.min(n, 2000);
  await driverVsPrisma(
    log,
    `${b}.stored_user_reads`,
    `${misses} users, cache cleared: the user, their 50 latest ratings and those items`,
    (hot) =>
      cpuPerCall(url, hot, misses, async (store, k) => {
        store.clear();
        await store.getUsers([user(k)]);
        const history = await store.recentInteractions(user(k), 50);
        await store.getItems(history.map((r) => r.itemId));
      }),
  );
}

export async function run(log: FigureLog, options: Record<string, string | boolean>): Promise<void> {
  const quick = options.quick === true;
  const syntheticSize = quick ? 100_000 : 1_000_000;
  const load = (when: string) =>
    log.add(`machine.loadavg.1m.${when}`, loadavg()[0], '', `${cpus().length} cores`);
  load('start');
  const only = process.env.WARMSTART_BENCH_POINTS?.split(',').map((p) => p.trim());
  const wanted = (point: 'import' | 'reads' | 'stream') => !only || only.includes(point);
  const chosen = process.env.WARMSTART_BENCH_BACKENDS?.split(',').map((b) => b.trim());
  const backends = !chosen || chosen.includes('sqlite') ? [sqlite] : [];
  if (!chosen || chosen.includes('postgresql')) {
    if (await pgAnswers()) backends.push(postgres);
    else console.warn(`  !!! PostgreSQL does not answer at ${PG_URL}: PostgreSQL figures are skipped !!!`);
  }

  for (const backend of backends) {
    const b = backend.name;
    const movielens = wanted('import') || wanted('reads'); // streaming needs the synthetic store only
    if (movielens && !existsSync(join(ML100K, 'u.data')))
      console.warn(`  MovieLens-100K not found at ${ML100K}: its figures are skipped`);
    else if (movielens) {
      const db = await backend.fresh();
      const store = await openFeatureStore(db.url);
      try {
        const t = Date.now();
        const report = await importMovieLens100k(store, ML100K);
        const s = (Date.now() - t) / 1000;
        if (wanted('import')) {
          log.add(`${b}.import.ml100k.seconds`, s, 's', 'target < 1 s on SQLite');
          log.add(
            `${b}.import.ml100k.throughput`,
            report.interactions.ingested / s,
            'rows/s',
            'ratings, incl. users/items',
          );
        }
        if (wanted('reads')) {
          await readLatency(log, b, store, 'items', quick ? 50 : 300);
          await readLatency(log, b, store, 'users', quick ? 50 : 300);
          await servingReadCost(log, b, db.url, quick ? 1000 : 5000);
        }
      } finally {
        await store.close();
        await db.drop();
      }
    }

    if (!wanted('import') && !wanted('stream')) continue;
    const db = await backend.fresh();
    const store = await openFeatureStore(db.url);
    try {
      const users = Math.round(syntheticSize / 160);
      const cpu = process.cpuUsage();
      const t = Date.now();
      let lastShown = 0;
      const report = await importSynthetic(
        store,
        { users, items: Math.round(users * 0.7), interactions: syntheticSize, seed: 1 },
        {
          batchSize: 10_000,
          onProgress: (p) => {
            if (p.phase === 'interactions' && p.done - lastShown >= syntheticSize / 5) {
              lastShown = p.done;
              process.stdout.write(`  ... ${b} synthetic ${p.done}/${p.total}\r`);
            }
          },
        },
      );
      const s = (Date.now() - t) / 1000;
      const used = process.cpuUsage(cpu);
      if (wanted('import')) {
        log.add(
          `${b}.import.synthetic.throughput`,
          report.interactions.ingested / s,
          'rows/s',
          `${syntheticSize} interactions, ${users} users; target >= 200k rows/s`,
        );
        log.add(
          `${b}.import.synthetic.cpu`,
          (used.user + used.system) / 1e6,
          's',
          `this process (generation, SQLite's work; not the PostgreSQL server's) in ${s.toFixed(1)} s`,
        );
      }
      if (!wanted('stream')) continue;
      const stream = streamInChild(db.url);
      log.add(
        `${b}.stream.tasks.throughput`,
        stream.ratings / stream.seconds,
        'rows/s',
        `${stream.ratings} ratings in ${stream.tasks} tasks`,
      );
      log.add(
        `${b}.stream.tasks.peak_rss`,
        stream.peakMb,
        'MB',
        `child process; ${stream.openedMb.toFixed(0)} MB after open; target < 500 MB`,
      );
    } finally {
      await store.close();
      await db.drop();
    }
  }
  load('end');
}
