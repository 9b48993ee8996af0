import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  RecommenderServiceClient,
  RecommenderServiceService,
  type FeatureValue,
  type RecommendRequest,
} from '@warmstart/contracts';
import {
  ANIL_LOCAL_GROUPS,
  FeatureSpec,
  createModel,
  initBackend,
  metaTrain,
  saveModel,
  type ModelConfig,
  type Task,
} from '@warmstart/core';
import { importMovieLens100k, openFeatureStore } from '@warmstart/feature-store';
import type { FigureLog } from './figures';
import { measureChurn } from './serving-churn';
import { measureRetrieval } from './serving-retrieval';
import { measureUsers } from './serving-users';

const REPO = path.resolve(__dirname, '../../..');
const SERVER = path.join(REPO, 'apps/serving/dist/main.js');
const SUPPORT = 20;
const CANDIDATES = 1000;
const K = 10;
/** Open-loop measurement: this many concurrent callers together offer OPEN_RATE uncached Recommend/s. */
const OPEN_CALLERS = 64;
const OPEN_RATE = 500;

const DECL = {
  user: [
    { name: 'gender', kind: 'categorical' as const },
    { name: 'age', kind: 'bucketized' as const, buckets: 6 },
    { name: 'occupation', kind: 'categorical' as const },
    { name: 'zip_prefix', kind: 'categorical' as const },
  ],
  item: [
    { name: 'genres', kind: 'multi_categorical' as const },
    { name: 'release_year', kind: 'numeric' as const },
  ],
};

/**
 * Serving benchmark: a MovieLens-100K model served by `warmstart-serve` in a child process,
 * driven over loopback by concurrent grpc-js callers from this process. Recommend with a
 * 20-interaction support set, 1,000 explicit candidates, k = 10; cached adaptation (stored
 * users, adapted state in the LRU) and uncached (inline support: adapted on every call), with
 * micro-batching on and off. The `model` option (WARMSTART_BENCH_MODEL=anil-ridge|anil|anil1|melu)
 * picks the served configuration: anil-ridge (default: what the trainer promotes by default; only
 * the output head adapts per user, in closed form, ridge penalty 10), anil (the same head adapted
 * by gradient steps), anil1 (anil with ONE 64-unit decision layer: scoring is relu(item half + user
 * half) . head per candidate, no per-user layer product), melu (the decision layers adapt too).
 * WARMSTART_BENCH_USER_FEATURES=off trains it without user features (the trunk then ignores the
 * user and two-stage ranking is exact).
 * The `churn` point (serving-churn.ts) grows the catalog to 10k and 100k items and measures
 * all-active Recommend while new items are upserted at 0, 1, 10 and 50 a second; the `users` point
 * (serving-users.ts) sends 100k distinct stored users through Recommend and reports the RSS.
 * WARMSTART_BENCH_POINTS=varied (comma-separated: cached, uncached, varied, open, overload, churn, retrieval, users) measures only
 * those points, with batching on only unless it also lists `batching-off`, and one server process
 * only unless it also lists `workers`. The 64-caller uncached points are also measured on a
 * server started with `--workers N` (WARMSTART_BENCH_WORKERS, default 2 = this machine's cores;
 * 1 skips them).
 */
const SERVED = ['anil', 'anil-ridge', 'anil1', 'melu'] as const;
type Served = (typeof SERVED)[number];

export async function run(log: FigureLog, options: Record<string, string | boolean>): Promise<void> {
  const quick = options['quick'] === true;
  // tools/bench/src/main.ts only forwards --quick/--json, so the option is also read from the
  // environment: WARMSTART_BENCH_MODEL=melu npm run bench -- serving
  const requested = options['model'] ?? process.env['WARMSTART_BENCH_MODEL'] ?? 'anil-ridge';
  if (!SERVED.includes(requested as Served))
    throw new Error(`bench serving: --model must be one of ${SERVED.join(', ')}`);
  const algorithm = requested as Served;
  const only = process.env['WARMSTART_BENCH_POINTS']?.split(',').map((p) => p.trim());
  const wanted = (point: string) => !only || only.includes(point);
  const workers = Number(process.env['WARMSTART_BENCH_WORKERS'] ?? 2);
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error('bench serving: WARMSTART_BENCH_WORKERS must be a positive integer');
  const setups = [
    { batching: true, workers: 1 },
    ...(only && !only.includes('batching-off') ? [] : [{ batching: false, workers: 1 }]),
    ...(workers > 1 && (!only || only.includes('workers')) ? [{ batching: true, workers }] : []),
  ];
  console.log(`  served configuration: ${algorithm}`);
  const dataset = process.env['WARMSTART_ML100K'] ?? path.resolve(REPO, '../shared/datasets/ml-100k');
  if (!existsSync(path.join(dataset, 'u.data'))) {
    console.log(`bench serving: skipped, MovieLens-100K not found at ${dataset} (set WARMSTART_ML100K)`);
    return;
  }
  if (!existsSync(SERVER)) throw new Error(`bench serving: build first (${SERVER} is missing)`);
  const work = mkdtempSync(path.join(tmpdir(), 'warmstart-bench-serving-'));
  try {
    const { database, artifacts, users, histories, features, itemIds } = await prepare(
      dataset,
      work,
      quick,
      log,
      algorithm,
    );
    const seconds = quick ? 1.5 : 5;
    const callers = [1, 8, 64];
    const through: Record<string, number> = {};
    for (const { batching, workers } of setups) {
      const server = await startServer(database, artifacts, batching, workers);
      const setup = `batching=${batching ? 'on' : 'off'}${workers > 1 ? ` workers=${workers}` : ''}`;
      try {
        const clients = Array.from(
          { length: Number(process.env['NCLI'] ?? 8) },
          (_, k) =>
            // A distinct option per client gives each its own HTTP/2 connection (grpc-js otherwise
            // shares one connection between channels to the same address).
            new RecommenderServiceClient(server.address, grpc.credentials.createInsecure(), {
              'grpc.primary_user_agent': `bench-${k}`,
            }),
        );
        const candidates = itemIds.slice(0, CANDIDATES);
        const cachedReq = (i: number): RecommendRequest => ({
          user: { userId: users[i % users.length] as string, features: {}, support: [] },
          candidates: { source: { $case: 'itemIds', value: { ids: candidates } } },
          k: K,
          includeSeen: false,
        });
        const uncachedReq = (i: number): RecommendRequest => ({
          user: {
            userId: '',
            features: {},
            support: histories[i % histories.length] as { itemId: string; value: number }[],
          },
          candidates: { source: { $case: 'itemIds', value: { ids: candidates } } },
          k: K,
          includeSeen: false,
        });
        // The general case: every request has its own user features (the trunk is not shared
        // within a batch) and its own candidate list (1,000 ids drawn per request from the whole
        // catalog: neither the decoded list nor the gathered rows can be reused).
        const variedReq = (i: number): RecommendRequest => ({
          user: {
            userId: '',
            features: features[i % features.length] as Record<string, FeatureValue>,
            support: histories[i % histories.length] as { itemId: string; value: number }[],
          },
          candidates: { source: { $case: 'itemIds', value: { ids: drawCandidates(itemIds, i) } } },
          k: K,
          includeSeen: false,
        });
        // More distinct lists than the server's decoded-list memo (8 MiB, ~1,300 such lists) holds.
        DISTINCT_REQUESTS.set(variedReq, 4096);
        // Fill the adapted-state cache for the stored users.
        const cached = wanted('cached') && workers === 1;
        if (cached) await drive(clients, 8, users.length, cachedReq);
        for (const n of only || workers > 1 ? [64] : callers) {
          for (const [mode, req] of [
            ...(cached ? ([['cached', cachedReq]] as const) : []),
            ...(wanted('uncached') ? ([['uncached', uncachedReq]] as const) : []),
            ...(n === 64 && wanted('varied') ? ([['uncached-varied', variedReq]] as const) : []),
          ] as const) {
            // Warm-up at the same concurrency for a few seconds: V8's optimised code and the
            // server's caches settle (a 50-request warm-up left the first seconds of the window
            // well below the steady throughput and put them in the p99).
            await drive(clients, n, Infinity, req, quick ? 500 : WARMUP_MS);
            const cpu = cpuMeter(server.pid);
            const r = await drive(clients, n, Infinity, req, seconds * 1000);
            const used = cpu.stop(r.ok + r.failed);
            const tag = `recommend ${algorithm} ${mode} ${setup} callers=${n}`;
            through[`${mode}/${setup}/${n}`] = log.add(
              `${tag} throughput`,
              r.rps,
              'req/s',
              `closed loop, ${r.ok} ok, ${r.failed} failed (${r.refused} RESOURCE_EXHAUSTED)`,
            );
            log.add(`${tag} p50`, r.p50, 'ms');
            log.add(`${tag} p99`, r.p99, 'ms');
            logCpu(log, tag, used);
          }
        }
        // Overload: 256 callers of stored users against the server's default --max-in-flight.
        if (wanted('overload') && batching && workers === 1) {
          if (!cached) await drive(clients, 8, users.length, cachedReq);
          await driveOverload(clients, OVERLOAD_CALLERS, cachedReq, quick ? 500 : WARMUP_MS);
          const cpu = cpuMeter(server.pid);
          const o = await driveOverload(clients, OVERLOAD_CALLERS, cachedReq, seconds * 1000);
          const used = cpu.stop(o.ok + o.shed + o.failed);
          const tag = `recommend ${algorithm} cached ${setup} callers=${OVERLOAD_CALLERS} default --max-in-flight`;
          log.add(
            `${tag} admitted throughput`,
            o.rps,
            'req/s',
            `closed loop, ${o.ok} ok, ${o.shed} shed, ${o.failed} other failures`,
          );
          log.add(`${tag} admitted p50`, o.p50, 'ms');
          log.add(`${tag} admitted p99`, o.p99, 'ms', 'target < 100 ms');
          log.add(
            `${tag} shed fraction`,
            o.shed / Math.max(1, o.ok + o.shed + o.failed),
            'of calls',
            'RESOURCE_EXHAUSTED',
          );
          log.add(
            `${tag} shed p99`,
            o.shedP99,
            'ms',
            `a shed caller waits ${OVERLOAD_BACKOFF_MS} ms before its next call`,
          );
          logCpu(log, tag, used);
        }
        // Open loop: a fixed offered rate, latency from each request's scheduled send time, so a
        // slow server cannot slow the load down and hide its queueing (no coordinated omission).
        for (const [mode, req] of [
          ...(wanted('open') || wanted('uncached') ? ([['uncached', uncachedReq]] as const) : []),
          ...(wanted('open') || wanted('varied') ? ([['uncached-varied', variedReq]] as const) : []),
        ] as const) {
          const tag = `recommend ${algorithm} ${mode} ${setup} open-loop ${OPEN_RATE}/s callers=${OPEN_CALLERS}`;
          const cpu = cpuMeter(server.pid);
          const o = await driveOpen(clients, OPEN_CALLERS, OPEN_RATE, seconds * 1000, req);
          const used = cpu.stop(o.ok + o.failed);
          log.add(
            `${tag} achieved`,
            o.achieved,
            'req/s',
            `offered ${OPEN_RATE}/s for ${seconds} s: ${o.ok} ok, ${o.failed} failed, ${o.unsent} not sent`,
          );
          log.add(`${tag} p50`, o.p50, 'ms', 'from the scheduled send time');
          log.add(`${tag} p99`, o.p99, 'ms', 'from the scheduled send time');
          log.add(`${tag} failed`, o.failed, 'requests');
          logCpu(log, tag, used);
        }
        for (const c of clients) c.close();
      } finally {
        await server.stop();
      }
    }
    for (const n of only ? [] : callers) {
      const on = through[`uncached/batching=on/${n}`] ?? 0;
      const off = through[`uncached/batching=off/${n}`] ?? 1;
      log.add(
        `micro-batching speed-up, ${algorithm}, uncached, callers=${n}`,
        on / off,
        'x',
        'throughput batching on / off',
      );
    }
    if (wanted('churn'))
      await measureChurn(
        log,
        { startServer, drive, cpuMs: processCpuMs },
        { database, artifacts, users, quick, seconds },
      );
    if (wanted('retrieval'))
      await measureRetrieval(
        log,
        { startServer, drive, cpuMs: processCpuMs },
        { database, artifacts, users, quick, seconds },
      );
    if (wanted('users')) await measureUsers(log, { startServer }, { database, artifacts, itemIds, quick });
    for (const mode of workers > 1 ? ['uncached', 'uncached-varied'] : []) {
      const one = through[`${mode}/batching=on/64`];
      const many = through[`${mode}/batching=on workers=${workers}/64`];
      if (one !== undefined && many !== undefined)
        log.add(
          `workers speed-up, ${algorithm}, ${mode}, callers=64`,
          many / one,
          'x',
          `throughput --workers ${workers} / one process`,
        );
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function prepare(dataset: string, work: string, quick: boolean, log: FigureLog, served: Served) {
  await initBackend();
  const database = path.join(work, 'bench.db');
  const artifacts = path.join(work, 'models');
  const store = await openFeatureStore(database);
  try {
    await importMovieLens100k(store, dataset);
    const snapshot = store.snapshot();
    const users = [];
    for await (const u of snapshot.users()) users.push(u);
    const items = [];
    for await (const i of snapshot.items()) items.push(i);
    const tasks: Task[] = [];
    for await (const t of snapshot.tasks({ seed: 1 })) tasks.push(t);
    // WARMSTART_BENCH_USER_FEATURES=off: a model without user features, as implicit data often
    // has; its trunk ignores the user, so two-stage ranking is exact (core firstStageIsExact).
    const userFeatures = process.env['WARMSTART_BENCH_USER_FEATURES'] !== 'off';
    const spec = FeatureSpec.fromData(userFeatures ? DECL : { ...DECL, user: [] }, users, items);
    // anil1: one 64-unit decision layer (embedding 32, only the output head local), trained as anil.
    const algorithm = served === 'melu' ? 'melu' : 'anil';
    const config: Partial<ModelConfig> =
      served === 'anil1'
        ? { seed: 1, hidden: [64], embeddingDim: 32, localGroups: [...ANIL_LOCAL_GROUPS] }
        : { seed: 1 };
    const model = createModel(spec, config);
    const catalog = new Map(items.map((i) => [i.id, i]));
    const started = Date.now();
    const trainTasks = tasks.slice(0, quick ? 64 : 400);
    await metaTrain(model, trainTasks, catalog, {
      algorithm,
      metaBatchSize: 32,
      epochs: 1,
      innerSteps: 5,
      innerRidge: served === 'anil-ridge' ? 10 : null,
    });
    log.add(
      'bench model meta-training',
      (Date.now() - started) / 1000,
      's',
      `${trainTasks.length} tasks, ${served}, 1 epoch`,
    );
    await saveModel(model, path.join(artifacts, 'm-bench'), {});
    await store.registry.registerModel({ modelId: 'm-bench', algorithm, artifactUri: 'm-bench' });
    await store.registry.promote('m-bench');
    model.dispose();
    // Users with at least SUPPORT stored ratings; their latest SUPPORT ratings are also the inline support sets.
    const eligible = [];
    const histories = [];
    const features: Record<string, FeatureValue>[] = [];
    for (const u of users.slice(0, 400)) {
      const recent = await store.recentInteractions(u.id, SUPPORT);
      if (recent.length < SUPPORT) continue;
      eligible.push(u.id);
      histories.push(recent.map((r) => ({ itemId: r.itemId, value: r.value })));
      features.push(protoFeatures(u.features));
    }
    return {
      database,
      artifacts,
      users: eligible.slice(0, 200),
      histories,
      features,
      itemIds: items.map((i) => i.id),
    };
  } finally {
    await store.close();
  }
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function startServer(
  database: string,
  artifacts: string,
  batching: boolean,
  workers: number,
  extraArgs: readonly string[] = [],
) {
  const port = await freePort();
  const args = [
    SERVER,
    ...['--host', '127.0.0.1', '--port', String(port), '--database', database, '--artifacts', artifacts],
    ...[
      '--support-limit',
      String(SUPPORT),
      '--metrics',
      'false',
      '--log-level',
      'warn',
      '--poll-interval-ms',
      '0',
    ],
    ...['--batch-max-size', batching ? '64' : '1', '--batch-max-wait-ms', batching ? '2' : '0'],
    ...['--workers', String(workers)],
    ...extraArgs,
  ];
  // WARMSTART_BENCH_CPU_PROF=<dir> writes a V8 CPU profile of each server process there.
  const prof = process.env['WARMSTART_BENCH_CPU_PROF'];
  const node = prof ? ['--cpu-prof', '--cpu-prof-dir', prof] : [];
  // WARMSTART_BENCH_SERVER_LOG=1 shows the servers' own log lines (a failed start says why there).
  const child: ChildProcess = spawn(process.execPath, [...node, ...args], {
    stdio: ['ignore', process.env['WARMSTART_BENCH_SERVER_LOG'] === '1' ? 'inherit' : 'ignore', 'inherit'],
  });
  const address = `127.0.0.1:${port}`;
  const probe = new RecommenderServiceClient(address, grpc.credentials.createInsecure());
  try {
    await new Promise<void>((resolve, reject) =>
      // A 1M-item catalog is encoded before the server listens: minutes, not seconds.
      probe.waitForReady(Date.now() + 600_000, (err) => (err ? reject(err) : resolve())),
    );
  } finally {
    probe.close();
  }
  return {
    address,
    pid: child.pid,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** How many distinct requests a request function cycles through (default 1,024). */
const DISTINCT_REQUESTS = new WeakMap<(i: number) => RecommendRequest, number>();
const SERIALIZED = new WeakMap<(i: number) => RecommendRequest, Buffer[]>();

/**
 * Serialized requests, made once per request function before any timing starts: the client
 * shares the 2 cores with the server, and re-encoding the same 1,000-id request on every call
 * would measure the client's protobuf encoder rather than the server. The bytes on the wire are
 * exactly those of the generated serializer.
 */
function wireRequests(request: (i: number) => RecommendRequest): (i: number) => Buffer {
  let all = SERIALIZED.get(request);
  if (!all) {
    // 1,024 > the number of distinct users / support sets, so every one is used.
    const n = DISTINCT_REQUESTS.get(request) ?? 1024;
    all = Array.from({ length: n }, (_, i) =>
      RecommenderServiceService.recommend.requestSerialize(request(i)),
    );
    SERIALIZED.set(request, all);
  }
  const wire = all;
  return (i) => wire[i % wire.length] as Buffer;
}

/** A stored user's features as the proto map sent inline. */
function protoFeatures(features: Record<string, unknown>): Record<string, FeatureValue> {
  const out: Record<string, FeatureValue> = {};
  for (const [name, v] of Object.entries(features)) {
    if (typeof v === 'number') out[name] = { kind: { $case: 'numeric', value: v } };
    else if (typeof v === 'string') out[name] = { kind: { $case: 'categorical', value: v } };
    else if (Array.isArray(v))
      out[name] = { kind: { $case: 'multiCategorical', value: { values: v.map(String) } } };
  }
  return out;
}

/** CANDIDATES distinct ids drawn for request i (seeded by i; a different list for every i). */
function drawCandidates(itemIds: readonly string[], i: number): string[] {
  const pool = [...itemIds];
  let seed = (i * 2654435761 + 12345) >>> 0;
  const n = Math.min(CANDIDATES, pool.length);
  for (let j = 0; j < n; j++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const r = j + (seed % (pool.length - j));
    [pool[j], pool[r]] = [pool[r] as string, pool[j] as string];
  }
  return pool.slice(0, n);
}

/**
 * CPU time (user + system, ms) of a pid and its descendants (a `--workers` primary and its
 * workers) from /proc (Linux; undefined elsewhere).
 */
function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] ?? '').split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (USER_HZ = 100 on Linux)
    if (!Number.isFinite(ticks)) return undefined;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    let ms = ticks * 10;
    for (const child of children ? children.split(' ') : []) ms += processCpuMs(Number(child)) ?? 0;
    return ms;
  } catch {
    return undefined;
  }
}

/**
 * CPU used while a measurement runs: the server process (per request: robust to other load on
 * the machine) and this bench client (it shares the cores with the server).
 */
function cpuMeter(serverPid: number | undefined) {
  const server0 = processCpuMs(serverPid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  return {
    stop(requests: number) {
      const wall = performance.now() - t0;
      const c = process.cpuUsage(client0);
      const server1 = processCpuMs(serverPid);
      return {
        clientPct: ((c.user + c.system) / 1000 / wall) * 100,
        serverPct:
          server0 !== undefined && server1 !== undefined ? ((server1 - server0) / wall) * 100 : undefined,
        serverMsPerRequest:
          server0 !== undefined && server1 !== undefined && requests > 0
            ? (server1 - server0) / requests
            : undefined,
      };
    },
  };
}

function logCpu(log: FigureLog, tag: string, used: ReturnType<ReturnType<typeof cpuMeter>['stop']>): void {
  if (used.serverMsPerRequest !== undefined)
    log.add(
      `${tag} server cpu`,
      used.serverMsPerRequest,
      'ms/req',
      `server process ${used.serverPct?.toFixed(0)}% of one core`,
    );
  log.add(`${tag} client cpu`, used.clientPct, '% of one core', 'the bench client shares the cores');
}

/**
 * Open loop: request i is due at start + i / rate; `callers` concurrent callers take the next
 * due request, wait for its time (or send at once when behind schedule) and record latency from
 * the due time, so queueing in the server shows up in the latency instead of lowering the load.
 * Requests not sent by the end of the window (callers all busy) are counted as `unsent`.
 */
async function driveOpen(
  clients: InstanceType<typeof RecommenderServiceClient>[],
  callers: number,
  rate: number,
  ms: number,
  request: (i: number) => RecommendRequest,
) {
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const total = Math.floor((rate * ms) / 1000);
  const wire = wireRequests(request);
  const started = performance.now();
  const loop = async (c: number) => {
    const client = clients[c % clients.length] as InstanceType<typeof RecommenderServiceClient>;
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const due = started + (i * 1000) / rate;
      // Far behind schedule (callers could not keep up): stop; the rest is reported as not sent.
      if (performance.now() - started >= ms + 1000) {
        next = total;
        return;
      }
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const ok = await recommendOnce(client, wire(i));
      if (ok) latencies.push(performance.now() - due);
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: callers }, (_, c) => loop(c)));
  const elapsed = (performance.now() - started) / 1000;
  const pct = percentiles(latencies);
  return {
    achieved: latencies.length / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    ok: latencies.length,
    failed,
    unsent: total - latencies.length - failed,
  };
}

/** One Recommend call with pre-serialized request bytes; true when it succeeded. */
function recommendOnce(
  client: InstanceType<typeof RecommenderServiceClient>,
  bytes: Buffer,
): Promise<boolean> {
  const { path, responseDeserialize } = RecommenderServiceService.recommend;
  return new Promise<boolean>((resolve) =>
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      responseDeserialize,
      bytes,
      (err) => resolve(err === null),
    ),
  );
}

/** The overload point: callers, and how long a caller whose call was shed waits before the next one. */
const OVERLOAD_CALLERS = 256;
const OVERLOAD_BACKOFF_MS = Number(process.env['WARMSTART_BENCH_BACKOFF_MS'] ?? 100);

/** One Recommend call with pre-serialized request bytes; resolves with its status code. */
function recommendCode(
  client: InstanceType<typeof RecommenderServiceClient>,
  bytes: Buffer,
): Promise<number> {
  const { path, responseDeserialize } = RecommenderServiceService.recommend;
  return new Promise<number>((resolve) =>
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      responseDeserialize,
      bytes,
      (err) => resolve(err === null ? grpc.status.OK : err.code),
    ),
  );
}

/**
 * Closed loop of `callers` beyond the server's in-flight limit: latency of admitted calls, how
 * many were shed (RESOURCE_EXHAUSTED) and how fast; a shed caller backs off OVERLOAD_BACKOFF_MS
 * (as a client retrying with backoff would) instead of spinning on refusals.
 */
async function driveOverload(
  clients: InstanceType<typeof RecommenderServiceClient>[],
  callers: number,
  request: (i: number) => RecommendRequest,
  ms: number,
) {
  const admitted: number[] = [];
  const shedLatency: number[] = [];
  let failed = 0;
  let next = 0;
  const wire = wireRequests(request);
  const started = performance.now();
  const end = started + ms;
  const loop = async (c: number) => {
    const client = clients[c % clients.length] as InstanceType<typeof RecommenderServiceClient>;
    while (performance.now() < end) {
      const t0 = performance.now();
      const code = await recommendCode(client, wire(next++));
      const took = performance.now() - t0;
      if (code === grpc.status.OK) admitted.push(took);
      else if (code === grpc.status.RESOURCE_EXHAUSTED) {
        shedLatency.push(took);
        await new Promise((r) => setTimeout(r, OVERLOAD_BACKOFF_MS));
      } else failed++;
    }
  };
  await Promise.all(Array.from({ length: callers }, (_, c) => loop(c)));
  const elapsed = (performance.now() - started) / 1000;
  const pct = percentiles(admitted);
  return {
    rps: admitted.length / elapsed,
    p50: pct(0.5),
    p99: pct(0.99),
    ok: admitted.length,
    shed: shedLatency.length,
    shedP99: percentiles(shedLatency)(0.99),
    failed,
  };
}

/** Percentile lookup over latencies (sorted in place). */
function percentiles(latencies: number[]): (p: number) => number {
  latencies.sort((a, b) => a - b);
  return (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
}

/** Warm-up before each closed-loop measurement (ms). */
const WARMUP_MS = 3000;

/** Runs `callers` concurrent loops until `total` calls or `ms` elapsed; latency percentiles in ms. */
async function drive(
  clients: InstanceType<typeof RecommenderServiceClient>[],
  callers: number,
  total: number,
  request: (i: number) => RecommendRequest,
  ms = Infinity,
) {
  const latencies: number[] = [];
  let next = 0;
  let failed = 0;
  let refused = 0;
  const wire = wireRequests(request);
  const started = performance.now();
  const end = started + ms;
  const loop = async (c: number) => {
    const client = clients[c % clients.length] as InstanceType<typeof RecommenderServiceClient>;
    while (next < total && performance.now() < end) {
      const i = next++;
      const t0 = performance.now();
      const code = await recommendCode(client, wire(i));
      if (code === grpc.status.OK) latencies.push(performance.now() - t0);
      else failed++;
      // A refused caller backs off as the overload point's do (retrying at once spins on refusals).
      if (code === grpc.status.RESOURCE_EXHAUSTED) {
        refused++;
        await new Promise((r) => setTimeout(r, OVERLOAD_BACKOFF_MS));
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, (_, c) => loop(c)));
  const elapsed = (performance.now() - started) / 1000;
  const pct = percentiles(latencies);
  const ok = latencies.length;
  return { rps: ok / elapsed, p50: pct(0.5), p99: pct(0.99), ok, failed, refused };
}
