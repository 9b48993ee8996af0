#!/usr/bin/env node
import 'reflect-metadata';
import { initBackend, type AdaptSettings } from '@warmstart/core';
import { openFeatureStore, redactCredentials } from '@warmstart/feature-store';
import { loadArtifact } from './adapters/artifact-loader';
import { runPrimary } from './cluster/primary';
import { isClusterWorker, joinCluster } from './cluster/worker';
import { CoreModelRuntime } from './adapters/core-runtime';
import { FeatureStoreAdapter } from './adapters/feature-store-adapter';
import { WarmUpThread } from './adapters/warmup-thread';
import { configFromArgs, type ServingConfig } from './config/config';
import { createLogger } from './observability/logger';
import { startServer, type RunningServer } from './server';

async function main(): Promise<void> {
  let config: ServingConfig;
  try {
    config = configFromArgs(process.argv.slice(2));
  } catch (err) {
    if ((err as { code?: string }).code === 'commander.helpDisplayed') return;
    console.error(`warmstart-serve: ${(err as Error).message}`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  if (config.workers > 1 && !isClusterWorker()) {
    process.exit(await runPrimary(config, log));
  }
  // Signals are handled from here on, not only once the server listens: a SIGTERM that arrives
  // between the "listening" line and the handlers would otherwise end the process by the signal
  // (npm then exits by it too). Before the server listens there is nothing to drain and start-up
  // writes nothing, so a stop then exits at once.
  const running: { server?: RunningServer; warmUps?: WarmUpThread } = {};
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    const { server, warmUps } = running;
    if (!server) {
      log.info({ signal }, 'stopping before the server listens');
      process.exit(0);
    }
    log.info({ signal }, 'shutting down: draining in-flight calls');
    server
      .close()
      .then(() => warmUps?.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // SIGHUP re-reads --auth-tokens-file (before the server listens, the tokens are read at start).
  process.on('SIGHUP', () => {
    const { server } = running;
    if (!server) return;
    try {
      log.info({ tokens: server.reloadCredentials() }, 'auth tokens reloaded');
    } catch (err) {
      log.error({ err }, 'auth tokens not reloaded: keeping the ones in force');
    }
  });
  // A cluster worker leaves the metrics endpoint to its primary, which sums every worker's.
  const worker = isClusterWorker();
  const backend = await initBackend();
  log.info(
    { backend: backend.name, skipped: backend.skipped, nativeKernels: backend.nativeKernels },
    'tensorflow.js backend selected',
  );
  // A missing SQLite file is a typo, not a request for an empty store: `warmstart-trainer migrate` creates one.
  const store = await openFeatureStore(config.database, {
    create: false,
    cache: { max: config.storeCacheSize },
  });
  const adaptOptions: Partial<AdaptSettings> = {
    ...(config.adaptSteps !== undefined ? { steps: config.adaptSteps } : {}),
    ...(config.adaptLr !== undefined ? { lr: config.adaptLr } : {}),
    ...(config.adaptRidge !== undefined
      ? { ridge: config.adaptRidge === 'off' ? null : config.adaptRidge }
      : {}),
  };
  // Item warm-up runs on a worker thread (when built; from sources it runs in line).
  const warmUps =
    config.warmupInteractions > 0 && WarmUpThread.available
      ? new WarmUpThread({ backend: backend.name })
      : undefined;
  log.info(
    { itemWarmUp: warmUps ? 'worker thread' : config.warmupInteractions > 0 ? 'main thread' : 'off' },
    'item warm-up',
  );
  running.warmUps = warmUps;
  const server = await startServer(worker ? { ...config, metrics: false } : config, {
    store: new FeatureStoreAdapter(store),
    runtime: new CoreModelRuntime(loadArtifact, adaptOptions, warmUps),
    log,
  });
  running.server = server;
  if (worker) joinCluster(server.port, server.context.metrics.registry);
}

main().catch((err: unknown) => {
  console.error(`warmstart-serve: ${redactCredentials(startupError(err))}`);
  process.exit(1);
});

/** One line for a database that cannot be used (it names the flag); the stack for anything unexpected. */
function startupError(err: unknown): string {
  if (err instanceof Error && err.name === 'DatabaseUnavailableError')
    return `--database: ${(err as Error & { detail: string }).detail}`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
