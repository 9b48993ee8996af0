import * as grpc from '@grpc/grpc-js';
import {
  FeatureStoreServiceClient,
  ItemStatus,
  RecommenderServiceClient,
  type FeatureValue,
  type RecommendRequest,
} from '@warmstart/contracts';
import { openFeatureStore } from '@warmstart/feature-store';
import type { FigureLog } from './figures';

/** What the churn point borrows from the serving bench (serving.ts). */
export interface ChurnDeps {
  startServer(
    database: string,
    artifacts: string,
    batching: boolean,
    workers: number,
    extraArgs?: readonly string[],
  ): Promise<{ address: string; pid: number | undefined; stop(): Promise<void> }>;
  drive(
    clients: InstanceType<typeof RecommenderServiceClient>[],
    callers: number,
    total: number,
    request: (i: number) => RecommendRequest,
    ms?: number,
  ): Promise<{ rps: number; p50: number; p99: number; ok: number; failed: number }>;
  cpuMs(pid: number | undefined): number | undefined;
}

export interface ChurnSetup {
  database: string;
  artifacts: string;
  /** Stored users (their adapted states are cached after the first calls). */
  users: readonly string[];
  quick: boolean;
  seconds: number;
}

/** MovieLens-100K's genres (the served model's item vocabulary). */
const GENRES = [
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
];
const CALLERS = 16;
const RATES = [0, 1, 10, 50];

/**
 * A synthetic item with MovieLens-like content (the served model scores it from content): one to
 * three genres and a year from 1930 to 1998, drawn from a hash of `k` (items that share all of
 * them are identical to the model, which has no ID embedding for them).
 */
function syntheticItem(id: string, k: number) {
  let h = Math.imul(k + 1, 0x9e3779b1) >>> 0;
  const next = (n: number) => {
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0;
    h = (h ^ (h >>> 13)) >>> 0;
    return h % n;
  };
  const genres = [...new Set(Array.from({ length: 1 + next(3) }, () => GENRES[next(GENRES.length)]!))];
  return { id, features: { genres, release_year: 1930 + next(69) } };
}

function protoItem(id: string, k: number) {
  const item = syntheticItem(id, k);
  return {
    id,
    status: ItemStatus.ITEM_STATUS_ACTIVE,
    features: {
      genres: { kind: { $case: 'multiCategorical', value: { values: item.features.genres } } },
      release_year: { kind: { $case: 'numeric', value: item.features.release_year } },
    } as Record<string, FeatureValue>,
  };
}

/**
 * Item churn against the all-active catalog: the store's catalog grown to each size with
 * synthetic items (new to the model: scored from content), a server started on it, the first
 * all-active call timed, then 16 callers of stored users on all-active Recommend (k = 10) while
 * one UpsertItems of one new item arrives 0, 1, 10 and 50 times a second. Reports throughput,
 * p50 and p99 per rate, server CPU per call, and p99 at 50 items/s against no churn.
 */
export async function measureChurn(log: FigureLog, deps: ChurnDeps, setup: ChurnSetup): Promise<void> {
  const sizes = setup.quick ? [10_000] : [10_000, 100_000];
  let stored = await countItems(setup.database);
  for (const size of sizes) {
    stored = await growCatalog(setup.database, stored, size);
    const booting = performance.now();
    const server = await deps.startServer(setup.database, setup.artifacts, true, 1);
    log.add(
      `churn catalog=${size} start-up until ready`,
      (performance.now() - booting) / 1000,
      's',
      'process start to a ready gRPC channel (the catalog encoded before the server listens)',
    );
    const clients = Array.from(
      { length: 8 },
      (_, k) =>
        new RecommenderServiceClient(server.address, grpc.credentials.createInsecure(), {
          'grpc.primary_user_agent': `churn-${k}`,
        }),
    );
    const writer = new FeatureStoreServiceClient(server.address, grpc.credentials.createInsecure());
    try {
      const request = (i: number): RecommendRequest => ({
        user: { userId: setup.users[i % setup.users.length]!, features: {}, support: [] },
        candidates: { source: { $case: 'allActive', value: {} } },
        k: 10,
        includeSeen: false,
      });
      // The channel is connected and the client's own call path warmed first (a health check:
      // nothing of Recommend's path on the server), and the call's time is its own (the request
      // bytes are serialized before): the figure is the server's first call, not the client's.
      await new Promise<void>((resolve, reject) =>
        clients[0]!.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())),
      );
      await healthCheck(clients[0]!);
      const first = await deps.drive(clients, 1, 1, request);
      if (first.failed > 0) throw new Error('bench churn: the first all-active call failed');
      const firstMs = first.p50;
      log.add(`churn catalog=${size} first all-active call after start`, firstMs / 1000, 's');
      const steady = await deps.drive(clients, 1, 20, request);
      log.add(
        `churn catalog=${size} first call / steady p50 (1 caller)`,
        firstMs / steady.p50,
        'x',
        `steady p50 ${steady.p50.toFixed(1)} ms; target <= 2`,
      );
      await deps.drive(clients, 8, setup.users.length, request); // adapted states cached
      const p99: Record<number, number> = {};
      let written = 0;
      for (const rate of RATES) {
        await deps.drive(clients, CALLERS, Infinity, request, setup.quick ? 500 : 2000);
        const upserts =
          rate > 0 ? upsertEvery(writer, 1000 / rate, () => `churn-${size}-${written++}`) : undefined;
        const cpu0 = deps.cpuMs(server.pid);
        const r = await deps.drive(clients, CALLERS, Infinity, request, setup.seconds * 1000);
        const cpu1 = deps.cpuMs(server.pid);
        const sent = (await upserts?.stop()) ?? { ok: 0, failed: 0, why: '', p50: NaN };
        const tag = `churn catalog=${size} all-active callers=${CALLERS} upserts=${rate}/s`;
        log.add(
          `${tag} throughput`,
          r.rps,
          'req/s',
          `${r.ok} ok, ${r.failed} failed; ${sent.ok} upserts acknowledged, ${sent.failed} failed${sent.why ? ` (${sent.why})` : ''}`,
        );
        log.add(`${tag} p50`, r.p50, 'ms');
        log.add(`${tag} p99`, r.p99, 'ms');
        if (rate > 0) log.add(`${tag} UpsertItems p50`, sent.p50, 'ms');
        if (cpu0 !== undefined && cpu1 !== undefined)
          log.add(`${tag} server CPU per call`, (cpu1 - cpu0) / Math.max(1, r.ok), 'ms');
        p99[rate] = r.p99;
      }
      log.add(
        `churn catalog=${size} p99 at 50 upserts/s / no churn`,
        (p99[50] ?? NaN) / (p99[0] ?? NaN),
        'x',
        'target <= 1.5',
      );
    } finally {
      for (const c of clients) c.close();
      writer.close();
      await server.stop();
    }
  }
}

/** One grpc.health.v1 Check (empty request: the server's overall status) on the client's channel. */
function healthCheck(client: grpc.Client): Promise<void> {
  return new Promise<void>((resolve, reject) =>
    client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
      (err) => (err ? reject(err) : resolve()),
    ),
  );
}

/** UpsertItems of one new item every `everyMs` until stopped; counts and latencies of the acks. */
function upsertEvery(writer: FeatureStoreServiceClient, everyMs: number, nextId: () => string) {
  const latencies: number[] = [];
  let failed = 0;
  const codes = new Map<string, number>();
  let k = 0;
  const inFlight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const id = nextId();
    const t0 = performance.now();
    const call = new Promise<void>((resolve) => {
      writer.upsertItems({ items: [protoItem(id, k++)] }, (err) => {
        if (err) {
          failed++;
          const name = grpc.status[err.code] ?? String(err.code);
          codes.set(name, (codes.get(name) ?? 0) + 1);
        } else latencies.push(performance.now() - t0);
        resolve();
      });
    });
    inFlight.add(call);
    void call.then(() => inFlight.delete(call));
  }, everyMs);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all(inFlight);
      latencies.sort((a, b) => a - b);
      const why = [...codes].map(([code, n]) => `${n} ${code}`).join(', ');
      return { ok: latencies.length, failed, why, p50: latencies[Math.floor(latencies.length / 2)] ?? NaN };
    },
  };
}

export async function countItems(database: string): Promise<number> {
  const store = await openFeatureStore(database);
  try {
    return (await store.counts()).items;
  } finally {
    await store.close();
  }
}

/** Adds synthetic items until the store holds `size` items (returns the new count). */
export async function growCatalog(database: string, stored: number, size: number): Promise<number> {
  if (stored >= size) return stored;
  const store = await openFeatureStore(database);
  try {
    for (let at = stored; at < size; at += 1000) {
      const n = Math.min(1000, size - at);
      await store.upsertItems(
        Array.from({ length: n }, (_, j) => syntheticItem(`synthetic-${at + j}`, at + j)),
      );
    }
    return size;
  } finally {
    await store.close();
  }
}
