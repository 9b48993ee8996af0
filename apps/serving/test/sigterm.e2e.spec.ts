import * as grpc from '@grpc/grpc-js';
import { initBackend, saveModel } from '@warmstart/core';
import {
  ModelRegistryServiceClient,
  RecommenderServiceClient,
  type RecommendRequest,
  type RecommendResponse,
} from '@warmstart/contracts';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { openFeatureStore } from '@warmstart/feature-store';
import { call } from './support/harness';
import { makeModel, seedWorld } from './support/world';

const MAIN = path.resolve(__dirname, '../dist/main.js');
const haveDist = existsSync(MAIN);
if (!haveDist)
  console.warn(`${MAIN} not found: the SIGTERM test is skipped (build first: npx nx run-many -t build)`);

/** Resolves with the gRPC port from the "warmstart-serve listening" log line. */
function listeningPort(child: ChildProcess, output: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      output.push(chunk.toString());
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'warmstart-serve listening' && entry.port) resolve(entry.port);
        } catch {
          // not a JSON log line
        }
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.on('exit', (code) =>
      reject(new Error(`server exited (${code}) before listening:\n${output.join('')}`)),
    );
  });
}

(haveDist ? describe : describe.skip)('SIGTERM on the built server (node apps/serving/dist/main.js)', () => {
  it('finishes the in-flight Recommend, then exits 0', async () => {
    await initBackend({ prefer: 'cpu' });
    const dir = mkdtempSync(path.join(tmpdir(), 'warmstart-sigterm-'));
    const database = path.join(dir, 'test.db');
    const artifacts = path.join(dir, 'models');
    const store = await openFeatureStore(database);
    let child: ChildProcess | undefined;
    const clients: grpc.Client[] = [];
    try {
      await seedWorld(store);
      mkdirSync(artifacts, { recursive: true });
      const model = makeModel(1);
      await saveModel(model, path.join(artifacts, 'm1'), {});
      model.dispose();
      await store.registry.registerModel({ modelId: 'm1', algorithm: 'melu', artifactUri: 'm1' });
      await store.close();

      child = spawn(
        process.execPath,
        [MAIN, '--host', '127.0.0.1', '--port', '0', '--metrics', 'false', '--poll-interval-ms', '0'],
        {
          env: {
            ...process.env,
            WARMSTART_DATABASE: database,
            WARMSTART_ARTIFACTS: artifacts,
            // Every Recommend waits 800 ms for its batch to fill: long enough to signal mid-call.
            WARMSTART_BATCH_MAX_WAIT_MS: '800',
            WARMSTART_DRAIN_TIMEOUT_MS: '5000',
            WARMSTART_LOG_LEVEL: 'info',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const output: string[] = [];
      const exited = new Promise<number | null>((resolve) => child?.on('exit', (code) => resolve(code)));
      const address = `127.0.0.1:${await listeningPort(child, output)}`;

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
      expect(child.kill('SIGTERM')).toBe(true);

      const res = await inflight;
      expect(finishedAt).toBeGreaterThan(signalledAt); // it really was in flight when the signal came
      expect(res.model).toEqual({ modelId: 'm1', version: 1 });
      expect(res.items).toHaveLength(3);
      expect(await exited).toBe(0);
      expect(output.join('')).toMatch(/shutting down: draining in-flight calls/);
      child = undefined;
    } finally {
      for (const c of clients) c.close();
      if (child && child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
