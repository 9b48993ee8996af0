import * as grpc from '@grpc/grpc-js';
import {
  ModelRegistryServiceClient,
  RecommenderServiceClient,
  type RecommendRequest,
  type RecommendResponse,
} from '@warmstart/contracts';
import { call } from './support/harness';
import { MAIN, ServerProcess, diskWorld, haveDist } from './support/server-process';

if (!haveDist)
  console.warn(`${MAIN} not found: the SIGTERM test is skipped (build first: npx nx run-many -t build)`);

(haveDist ? describe : describe.skip)('SIGTERM on the built server (node apps/serving/dist/main.js)', () => {
  it('finishes the in-flight Recommend, then exits 0', async () => {
    const { database, artifacts, remove } = await diskWorld('warmstart-sigterm-');
    let server: ServerProcess | undefined;
    const clients: grpc.Client[] = [];
    try {
      server = new ServerProcess(
        ['--host', '127.0.0.1', '--port', '0', '--metrics', 'false', '--poll-interval-ms', '0'],
        {
          WARMSTART_DATABASE: database,
          WARMSTART_ARTIFACTS: artifacts,
          // Every Recommend waits 800 ms for its batch to fill: long enough to signal mid-call.
          WARMSTART_BATCH_MAX_WAIT_MS: '800',
          WARMSTART_DRAIN_TIMEOUT_MS: '5000',
          WARMSTART_LOG_LEVEL: 'info',
        },
      );
      const listening = await server.waitFor((e) => e.msg === 'warmstart-serve listening', 'listening line');
      const address = `127.0.0.1:${String(listening['port'])}`;

      const registry = new ModelRegistryServiceClient(address, grpc.credentials.createInsecure());
      const recommender = new RecommenderServiceClient(address, grpc.credentials.createInsecure());
      clients.push(registry, recommender);
      await call(registry, registry.promoteModel as never, { modelId: 'm1' });
      // Connect the recommender channel first so the timed call below is not slowed by a handshake.
      await new Promise<void>((resolve, reject) =>
        recommender.waitForReady(Date.now() + 2000, (e) => (e ? reject(e) : resolve())),
      );

      const req: RecommendRequest = {
        user: { userId: 'u1', features: {}, support: [] },
        k: 3,
        includeSeen: false,
      };
      let finishedAt = 0;
      const inflight = call<RecommendRequest, RecommendResponse>(
        recommender,
        recommender.recommend as never,
        req,
        { deadline: Date.now() + 10_000 },
      ).finally(() => (finishedAt = Date.now()));
      await new Promise((r) => setTimeout(r, 200));
      const signalledAt = Date.now();
      expect(server.child.kill('SIGTERM')).toBe(true);

      const res = await inflight;
      expect(finishedAt).toBeGreaterThan(signalledAt); // it really was in flight when the signal came
      expect(res.model).toEqual({ modelId: 'm1', version: 1 });
      expect(res.items).toHaveLength(3);
      expect(await server.exited).toBe(0);
      expect(server.output).toMatch(/shutting down: draining in-flight calls/);
    } finally {
      for (const c of clients) c.close();
      server?.kill();
      remove();
    }
  }, 20_000);

  it('exits 0 on a SIGTERM during start-up, before it listens, and on one right after the listening line', async () => {
    const { database, artifacts, remove } = await diskWorld('warmstart-sigterm-start-', { promote: true });
    const start = () =>
      new ServerProcess(['--host', '127.0.0.1', '--port', '0', '--metrics', 'false'], {
        WARMSTART_DATABASE: database,
        WARMSTART_ARTIFACTS: artifacts,
        WARMSTART_LOG_LEVEL: 'info',
      });
    const servers: ServerProcess[] = [];
    try {
      // The backend line comes before the store, the model and the catalog are loaded.
      const starting = start();
      servers.push(starting);
      await starting.waitFor((e) => e.msg === 'tensorflow.js backend selected', 'backend line');
      expect(starting.child.kill('SIGTERM')).toBe(true);
      expect(await starting.exited).toBe(0);
      expect(starting.output).toMatch(/stopping before the server listens|shutting down: draining/);

      // The signal sent the moment the listening line is read (as `npm run serve`'s test does).
      const listening = start();
      servers.push(listening);
      await listening.waitFor((e) => e.msg === 'warmstart-serve listening', 'listening line');
      expect(listening.child.kill('SIGTERM')).toBe(true);
      expect(await listening.exited).toBe(0);
      expect(listening.output).toMatch(/shutting down: draining in-flight calls/);
    } finally {
      for (const s of servers) s.kill();
      remove();
    }
  }, 60_000);
});
