import * as grpc from '@grpc/grpc-js';
import {
  RecommenderServiceClient,
  type RecommendRequest,
  type RecommendResponse,
} from '@warmstart/contracts';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { call } from './support/harness';
import { MAIN, ServerProcess, diskWorld, haveDist, type LogEntry } from './support/server-process';

if (!haveDist)
  console.warn(`${MAIN} not found: the --workers test is skipped (build first: npx nx run-many -t build)`);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const isListening = (e: LogEntry) => e.msg === 'warmstart-serve listening';
const isStopped = (e: LogEntry) => e.msg === 'warmstart-serve stopped';
const pidsOf = (entries: LogEntry[]) => new Set(entries.map((e) => e.pid));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `promise`, or a rejection naming `what` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Most new connections a test opens to see one particular worker answer. */
const MAX_CONNECTIONS = 20;

const request: RecommendRequest = {
  user: { userId: 'u1', features: {}, support: [] },
  k: 3,
  includeSeen: false,
};

/**
 * A `--workers N` server under test, seen through its log: each worker's `rpc` line carries its
 * pid, so a call made alone (the next one starts once the previous call's line has arrived) is
 * matched to the worker that answered it, wherever the primary placed its connection.
 */
class Cluster {
  readonly clients: grpc.Client[] = [];

  constructor(
    readonly server: ServerProcess,
    readonly address: string,
  ) {}

  /** The Recommend lines logged so far, in arrival order. */
  recommendLines(): LogEntry[] {
    return this.server.entries.filter(
      (e) => e.msg === 'rpc' && e['method'] === 'RecommenderService/Recommend',
    );
  }

  /** Recommend calls answered OK by `pid`, from its own log lines. */
  servedBy(pid: number): number {
    return this.recommendLines().filter((e) => e.pid === pid && e['status'] === 'OK').length;
  }

  /** A client on a connection of its own (no subchannel shared with other clients). */
  connect(): RecommenderServiceClient {
    const client = new RecommenderServiceClient(this.address, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    });
    this.clients.push(client);
    return client;
  }

  /** One Recommend call on `client`; resolves with the pid of the worker that answered it. */
  async answeringPid(client: RecommenderServiceClient): Promise<number> {
    const before = this.recommendLines().length;
    const reply = await call<RecommendRequest, RecommendResponse>(
      client,
      client.recommend as never,
      request,
      {
        deadline: Date.now() + 10_000,
      },
    );
    expect(reply.model).toEqual({ modelId: 'm1', version: 1 });
    expect(reply.items).toHaveLength(3);
    await this.server.waitFor(() => this.recommendLines().length > before, "the call's rpc log line");
    const line = this.recommendLines()[before] as LogEntry;
    expect(line['status']).toBe('OK');
    return line.pid as number;
  }

  /**
   * Opens new connections, one call each, until every pid in `want` has answered (at most
   * MAX_CONNECTIONS); resolves with a still-open client per pid. The primary hands new connections
   * to its workers in turn, so this takes about as many connections as there are workers.
   */
  async reachEach(want: number[]): Promise<Map<number, RecommenderServiceClient>> {
    const reached = new Map<number, RecommenderServiceClient>();
    const answers: number[] = [];
    for (let i = 0; i < MAX_CONNECTIONS && want.some((pid) => !reached.has(pid)); i++) {
      const client = this.connect();
      const pid = await this.answeringPid(client);
      answers.push(pid);
      if (want.includes(pid) && !reached.has(pid)) reached.set(pid, client);
      else client.close();
    }
    const missing = want.filter((pid) => !reached.has(pid));
    if (missing.length > 0)
      throw new Error(
        `worker(s) ${missing.join(', ')} answered none of ${MAX_CONNECTIONS} new connections ` +
          `(answered by: ${answers.join(', ')})`,
      );
    return reached;
  }

  /** The summed Recommend OK counter and the model gauge line from the primary's /metrics. */
  async metrics(metricsPort: number): Promise<{ recommendOk: number; body: string }> {
    const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const ok = body.match(
      /warmstart_grpc_requests_total\{method="RecommenderService\/Recommend",code="OK"\} (\d+)/,
    );
    return { recommendOk: Number(ok?.[1] ?? 0), body };
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}

(haveDist ? describe : describe.skip)('--workers 2 (node apps/serving/dist/main.js)', () => {
  it('starts two workers on one port that each serve and report metrics, replaces a dead one and stops all on SIGTERM', async () => {
    const world = await diskWorld('warmstart-workers-', { promote: true });
    let server: ServerProcess | undefined;
    let cluster: Cluster | undefined;
    try {
      const metricsPort = await freePort();
      server = new ServerProcess(
        ['--host', '127.0.0.1', '--port', '0', '--workers', '2', '--metrics-port', String(metricsPort)],
        {
          WARMSTART_DATABASE: world.database,
          WARMSTART_ARTIFACTS: world.artifacts,
          WARMSTART_POLL_INTERVAL_MS: '0',
          WARMSTART_LOG_LEVEL: 'info',
        },
      );
      const all = await server.waitFor((e) => e.msg === 'all workers listening', 'all workers listening');

      // Both start: two processes besides the primary, listening on the primary's one port. (Each
      // worker's own line may reach the pipe after the primary's: workers log asynchronously.)
      expect(all.pid).toBe(server.child.pid);
      const listening = () => server?.entries.filter(isListening) ?? [];
      await server.waitFor(() => pidsOf(listening()).size >= 2, "both workers' listening lines");
      const started = listening();
      const workers = [...pidsOf(started)] as number[];
      expect(workers).toHaveLength(2);
      expect(workers).not.toContain(server.child.pid);
      expect(new Set(started.map((e) => e.port))).toEqual(new Set([all.port]));
      // The primary gives each worker's native pool its share of the cores.
      expect(Number(all['nativeThreads'])).toBeGreaterThanOrEqual(1);

      // Both serve: new connections until each worker has answered one.
      cluster = new Cluster(server, `127.0.0.1:${String(all.port)}`);
      const onWorker = await cluster.reachEach(workers);

      // Both report metrics: the primary's one /metrics sums what each worker logged serving.
      await server.waitFor((e) => e.msg === 'metrics of all workers served', 'cluster metrics endpoint');
      const [first, second] = workers as [number, number];
      expect(cluster.servedBy(first)).toBeGreaterThanOrEqual(1);
      expect(cluster.servedBy(second)).toBeGreaterThanOrEqual(1);
      const before = await cluster.metrics(metricsPort);
      expect(before.recommendOk).toBe(cluster.servedBy(first) + cluster.servedBy(second));
      expect(before.body).toMatch(/warmstart_model_loaded\{model_id="m1",version="1"\} 1/);

      // A worker that dies is replaced; the other keeps serving its connection meanwhile.
      const [victim, survivor] = workers as [number, number];
      process.kill(victim, 'SIGKILL');
      const died = await server.waitFor((e) => e.msg === 'worker died: restarting it', 'restart');
      expect(died.pid).toBe(victim);
      expect(died['signal']).toBe('SIGKILL');
      expect(await cluster.answeringPid(onWorker.get(survivor) as RecommenderServiceClient)).toBe(survivor);
      const replacement = await server.waitFor(
        (e) => isListening(e) && !workers.includes(e.pid as number),
        'replacement worker',
      );
      expect(replacement.port).toBe(all.port);
      const fresh = replacement.pid as number;
      await cluster.reachEach([fresh]);
      const after = await cluster.metrics(metricsPort);
      expect(after.recommendOk).toBe(cluster.servedBy(survivor) + cluster.servedBy(fresh));

      // SIGTERM stops every live worker gracefully, then the primary exits 0.
      server.child.kill('SIGTERM');
      expect(await within(server.exited, 30_000, 'exit after SIGTERM')).toBe(0);
      expect(server.entries.find((e) => e.msg === 'stopping workers')?.['workers']).toBe(2);
      expect(pidsOf(server.entries.filter(isStopped))).toEqual(new Set([survivor, fresh]));
      for (const pid of [survivor, fresh]) expect(alive(pid)).toBe(false);
    } catch (err) {
      throw new Error(`${String(err)}\n--- server output (end):\n${server?.output.slice(-4000) ?? ''}`);
    } finally {
      cluster?.close();
      server?.kill();
      world.remove();
    }
  }, 90_000);

  it('drains every worker on a SIGTERM that comes as soon as all of them listen', async () => {
    // A worker counted ready has its signal handlers in place: none dies by the default action.
    const world = await diskWorld('warmstart-workers-', { promote: true });
    try {
      for (let round = 0; round < 3; round++) {
        const server = new ServerProcess(
          ['--host', '127.0.0.1', '--port', '0', '--workers', '2', '--metrics', 'false'],
          {
            WARMSTART_DATABASE: world.database,
            WARMSTART_ARTIFACTS: world.artifacts,
            WARMSTART_POLL_INTERVAL_MS: '0',
            WARMSTART_LOG_LEVEL: 'info',
          },
        );
        try {
          await server.waitFor((e) => e.msg === 'all workers listening', 'all workers listening');
          server.child.kill('SIGTERM');
          expect(await within(server.exited, 30_000, 'exit after SIGTERM')).toBe(0);
          const listening = pidsOf(server.entries.filter(isListening));
          expect(listening.size).toBe(2);
          expect(pidsOf(server.entries.filter(isStopped))).toEqual(listening);
        } catch (err) {
          throw new Error(`round ${round}: ${String(err)}\n--- server output:\n${server.output}`);
        } finally {
          server.kill();
        }
      }
    } finally {
      world.remove();
    }
  }, 90_000);

  it('exits 1 when a worker cannot start, instead of restarting it forever', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'warmstart-workers-'));
    // A directory where the SQLite file should be: every worker fails to open the store.
    const database = path.join(dir, 'not-a-file.db');
    mkdirSync(database);
    const server = new ServerProcess(
      ['--host', '127.0.0.1', '--port', '0', '--workers', '2', '--metrics', 'false'],
      {
        WARMSTART_DATABASE: database,
        WARMSTART_ARTIFACTS: path.join(dir, 'models'),
        WARMSTART_LOG_LEVEL: 'info',
      },
    );
    try {
      expect(await server.exited).toBe(1);
      expect(server.entries.some((e) => e.msg === 'worker failed to start')).toBe(true);
      expect(server.entries.some((e) => e.msg === 'worker died: restarting it')).toBe(false);
    } catch (err) {
      throw new Error(`${String(err)}\n--- server output:\n${server.output}`);
    } finally {
      server.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
