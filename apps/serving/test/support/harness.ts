import * as grpc from '@grpc/grpc-js';
import { initBackend, type RecommenderModel } from '@warmstart/core';
import {
  FeatureStoreServiceClient,
  ModelRegistryServiceClient,
  RecommenderServiceClient,
  type RecommendRequest,
  type RecommendResponse,
} from '@warmstart/contracts';
import { openFeatureStore, type FeatureStore } from '@warmstart/feature-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino, { type Logger } from 'pino';
import { CoreModelRuntime } from '../../src/adapters/core-runtime';
import { FeatureStoreAdapter } from '../../src/adapters/feature-store-adapter';
import { parseConfig, type ServingConfigInput } from '../../src/config/config';
import type { StorePort } from '../../src/ports/store.port';
import { startServer, type RunningServer } from '../../src/server';

export interface Harness {
  server: RunningServer;
  store: FeatureStore;
  recommender: InstanceType<typeof RecommenderServiceClient>;
  featureStore: InstanceType<typeof FeatureStoreServiceClient>;
  registry: InstanceType<typeof ModelRegistryServiceClient>;
  address: string;
  /** How many times each artifact directory was loaded. */
  loads: Map<string, number>;
  close(): Promise<void>;
}

/** Artifact directories ending in a name found here load that model; "broken" ones throw. */
export type ModelFactories = Record<string, () => RecommenderModel>;

/** A fresh SQLite feature store in a temp directory (removed by `dispose`); `file` opens it again. */
export async function tempStore(): Promise<{ store: FeatureStore; file: string; dispose(): void }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warmstart-serving-'));
  const file = path.join(dir, 'test.db');
  const store = await openFeatureStore(file);
  return { store, file, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface HarnessOptions {
  /** The server's logger (default: silent, or the level in WARMSTART_TEST_LOG). */
  log?: Logger;
  /** The store port (default: a FeatureStoreAdapter over `store`). */
  port?: StorePort;
}

export async function startHarness(
  store: FeatureStore,
  models: ModelFactories,
  overrides: ServingConfigInput = {},
  options: HarnessOptions = {},
): Promise<Harness> {
  await initBackend({ prefer: 'cpu' });
  const loads = new Map<string, number>();
  const runtime = new CoreModelRuntime(async (dir) => {
    const name = dir.split(/[\\/]/).pop() as string;
    loads.set(name, (loads.get(name) ?? 0) + 1);
    const factory = models[name];
    if (!factory) throw new Error(`artifact ${dir} is missing or corrupt`);
    return factory();
  });
  const config = parseConfig({
    host: '127.0.0.1',
    port: 0,
    metricsHost: '127.0.0.1',
    metricsPort: 0,
    artifacts: '/artifacts',
    pollIntervalMs: 0,
    logLevel: 'silent',
    // Item warm-up runs in the background and changes new items' scores when it lands: off unless
    // a test is about it (item-warmup.e2e.spec.ts), so other tests compare calls deterministically.
    warmupInteractions: 0,
    ...overrides,
  });
  const server = await startServer(config, {
    store: options.port ?? new FeatureStoreAdapter(store),
    runtime,
    log: options.log ?? pino({ level: process.env['WARMSTART_TEST_LOG'] ?? 'silent' }),
  });
  const address = `127.0.0.1:${server.port}`;
  const creds = grpc.credentials.createInsecure();
  const recommender = new RecommenderServiceClient(address, creds);
  const featureStore = new FeatureStoreServiceClient(address, creds);
  const registry = new ModelRegistryServiceClient(address, creds);
  return {
    server,
    store,
    recommender,
    featureStore,
    registry,
    address,
    loads,
    async close() {
      recommender.close();
      featureStore.close();
      registry.close();
      await server.close();
    },
  };
}

type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;
type UnaryMethod<Req, Res> = (
  req: Req,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  cb: Callback<Res>,
) => unknown;

/** Promisified unary call. */
export function call<Req, Res>(
  client: grpc.Client,
  method: UnaryMethod<Req, Res>,
  request: Req,
  options: Partial<grpc.CallOptions> = {},
  metadata = new grpc.Metadata(),
): Promise<Res> {
  return new Promise((resolve, reject) =>
    method.call(client, request, metadata, options, (err, res) => (err ? reject(err) : resolve(res))),
  );
}

/** Recommend through the harness's client, k 5 and seen items excluded unless `req` says otherwise. */
export function recommend(
  h: Harness,
  req: Partial<RecommendRequest>,
  opts: Partial<grpc.CallOptions> = {},
): Promise<RecommendResponse> {
  return call<RecommendRequest, RecommendResponse>(
    h.recommender,
    RecommenderServiceClient.prototype.recommend as never,
    { k: 5, includeSeen: false, ...req } as RecommendRequest,
    opts,
  );
}

/** The gRPC status code a promise rejects with (or 'OK'). */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (err) {
    return grpc.status[(err as grpc.ServiceError).code] ?? 'NOT_A_GRPC_ERROR';
  }
}

/** A Health client from grpc-health-check's own proto. */
export function healthClient(): { HealthClient: grpc.ServiceClientConstructor } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { service } = require('grpc-health-check') as { service: grpc.ServiceDefinition };
  return { HealthClient: grpc.makeGenericClientConstructor(service as never, 'Health') };
}
