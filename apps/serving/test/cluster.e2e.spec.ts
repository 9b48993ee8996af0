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

(haveDist ? describe : describe.skip)('--workers 2 (node apps/serving/dist/main.js)', () => {
  it('serves from two processes on one port, sums their metrics, replaces a dead worker and stops on SIGTERM', async () => {
    const world = await diskWorld('warmstart-workers-', { promote: true });
    const { database, artifacts } = world;
    let server: ServerProcess | undefined;
    const clients: grpc.Client[] = [];
    try {
      const metricsPort = await freePort();
      server = new ServerProcess(
        ['--host', '127.0.0.1', '--port', '0', '--workers', '2', '--metrics-port', String(metricsPort)],
        {
          WARMSTART_DATABASE: database,
          WARMSTART_ARTIFACTS: artifacts,
          WARMSTART_POLL_INTERVAL_MS: '0',
          WARMSTART_LOG_LEVEL: 'info',
        },
      );
      const all = await server.waitFor((e) => e.msg === 'all workers listening', 'workers');
      const workers = server.entries.filter(isListening);
      expect(new Set(workers.map((e) => e.pid)).size).toBe(2);
      expect(new Set(workers.map((e) => e.port))).toEqual(new Set([all.port]));
      // The primary gives each worker's native pool its share of the cores.
      expect(Number(all['nativeThreads'])).toBeGreaterThanOrEqual(1);

      // Connections are spread over the workers: distinct channel options give distinct connections.
      const address = `127.0.0.1:${String(all.port)}`;
      const request: RecommendRequest = {
        user: { userId: 'u1', features: {}, support: [] },
        k: 3,
        includeSeen: false,
      };
      const recommendOn = async (client: RecommenderServiceClient) =>
        call<RecommendRequest, RecommendResponse>(client, client.recommend as never, request, {
          deadline: Date.now() + 10_000,
        });
      for (let i = 0; i < 6; i++)
        clients.push(
          new RecommenderServiceClient(address, grpc.credentials.createInsecure(), {
            'grpc.primary_user_agent': `cluster-test-${i}`,
          }),
        );
      const replies = await Promise.all(clients.map((c) => recommendOn(c as RecommenderServiceClient)));
      for (const reply of replies) {
        expect(reply.model).toEqual({ modelId: 'm1', version: 1 });
        expect(reply.items).toHaveLength(3);
      }
      const rpcs = () =>
        server?.entries.filter((e) => e.msg === 'rpc' && e['method'] === 'RecommenderService/Recommend') ??
        [];
      await server.waitFor((e) => e.msg === 'rpc' && rpcs().length >= 6, 'request log lines');
      expect(new Set(rpcs().map((e) => e.pid)).size).toBe(2);

      // One /metrics for the whole cluster: the workers' counters summed.
      const body = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const ok = body.match(
        /warmstart_grpc_requests_total\{method="RecommenderService\/Recommend",code="OK"\} (\d+)/,
      );
      expect(Number(ok?.[1])).toBe(6);
      expect(body).toMatch(/warmstart_model_loaded\{model_id="m1",version="1"\} 1/);

      // A worker that dies is replaced; the port keeps serving meanwhile and afterwards.
      const victim = workers[0]?.pid as number;
      process.kill(victim, 'SIGKILL');
      await server.waitFor((e) => e.msg === 'worker died: restarting it', 'restart');
      const replacement = await server.waitFor(
        (e) => isListening(e) && !workers.some((w) => w.pid === e.pid),
        'replacement worker',
      );
      expect(replacement.port).toBe(all.port);
      const fresh = new RecommenderServiceClient(address, grpc.credentials.createInsecure(), {
        'grpc.primary_user_agent': 'cluster-test-after',
      });
      clients.push(fresh);
      expect((await recommendOn(fresh)).items).toHaveLength(3);

      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      const stopped = server.entries.filter((e) => e.msg === 'warmstart-serve stopped');
      expect(new Set(stopped.map((e) => e.pid)).size).toBe(2);
    } catch (err) {
      throw new Error(`${String(err)}\n--- server output (end):\n${server?.output.slice(-4000) ?? ''}`);
    } finally {
      for (const c of clients) c.close();
      server?.kill();
      world.remove();
    }
  }, 60_000);

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
    } finally {
      server.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
