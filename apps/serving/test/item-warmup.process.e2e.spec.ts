/**
 * Item warm-up in the built server, where it runs on a worker thread: the server says so at
 * start, warms the seeded world's new items (with their interactions) for the promoted model in
 * the background, and scores them as core does in this process.
 */
import * as grpc from '@grpc/grpc-js';
import { RecommenderServiceClient } from '@warmstart/contracts';
import { openFeatureStore } from '@warmstart/feature-store';
import { MAIN, ServerProcess, diskWorld, haveDist } from './support/server-process';
import { close, eventually, expected, scores } from './support/warmup';
import { makeModel } from './support/world';

if (!haveDist)
  console.warn(
    `${MAIN} not found: the built-server warm-up test is skipped (build first: npx nx run-many -t build)`,
  );

(haveDist ? describe : describe.skip)('item warm-up on the built server (worker thread)', () => {
  it('warms new items off the main thread and scores them as core does', async () => {
    const world = await diskWorld('warmstart-warmup-', { promote: true });
    let server: ServerProcess | undefined;
    let client: RecommenderServiceClient | undefined;
    try {
      const store = await openFeatureStore(world.database);
      const [content, warm] = [
        await expected(makeModel(1), store, false),
        await expected(makeModel(1), store),
      ];
      await store.close();
      expect(close(content, warm)).toBe(false);

      server = new ServerProcess(['--host', '127.0.0.1', '--port', '0', '--metrics', 'false'], {
        WARMSTART_DATABASE: world.database,
        WARMSTART_ARTIFACTS: world.artifacts,
        WARMSTART_LOG_LEVEL: 'info',
      });
      const mode = await server.waitFor((e) => e.msg === 'item warm-up', 'item warm-up line');
      expect(mode['itemWarmUp']).toBe('worker thread');
      const listening = await server.waitFor((e) => e.msg === 'warmstart-serve listening', 'listening line');
      client = new RecommenderServiceClient(
        `127.0.0.1:${String(listening['port'])}`,
        grpc.credentials.createInsecure(),
      );
      const c = client;
      // The first request starts the warm-up; later ones see its rows.
      expect(await eventually(async () => close(await scores({ recommender: c }), warm), 15_000)).toBe(true);
      const done = await server.waitFor(
        (e) => e.msg === 'warmed up new items on their interactions',
        'warm-up line',
      );
      expect(done['items']).toBeGreaterThan(0);
    } finally {
      client?.close();
      if (server) {
        server.child.kill('SIGTERM');
        expect(await server.exited).toBe(0);
      }
      world.remove();
    }
  });
});
