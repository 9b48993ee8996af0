#!/usr/bin/env node
import 'reflect-metadata';
import { initBackend } from '@warmstart/core';
import { openFeatureStore } from '@warmstart/feature-store';
import { loadArtifact } from './adapters/artifact-loader';
import { CoreModelRuntime } from './adapters/core-runtime';
import { FeatureStoreAdapter } from './adapters/feature-store-adapter';
import { configFromArgs, type ServingConfig } from './config/config';
import { createLogger } from './observability/logger';
import { startServer } from './server';

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
  const backend = await initBackend();
  log.info(
    { backend: backend.name, skipped: backend.skipped, nativeKernels: backend.nativeKernels },
    'tensorflow.js backend selected',
  );
  const store = await openFeatureStore(config.database);
  const adaptOptions = {
    ...(config.adaptSteps !== undefined ? { steps: config.adaptSteps } : {}),
    ...(config.adaptLr !== undefined ? { lr: config.adaptLr } : {}),
  };
  const server = await startServer(config, {
    store: new FeatureStoreAdapter(store),
    runtime: new CoreModelRuntime(loadArtifact, adaptOptions),
    log,
  });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: draining in-flight calls');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error(`warmstart-serve: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
