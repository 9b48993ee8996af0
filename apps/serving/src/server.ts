import 'reflect-metadata';
import type { Server } from '@grpc/grpc-js';
import { NestFactory } from '@nestjs/core';
import type { INestMicroservice } from '@nestjs/common';
import { PROTO_PACKAGE } from '@warmstart/contracts';
import type { Logger } from 'pino';
import { AppModule } from './app.module';
import { RecommenderController } from './controllers/recommender.controller';
import { AdaptedCache } from './cache/adapted-cache';
import { DEFAULT_LATENCY_TARGET_MS, type ServingConfig } from './config/config';
import { AuditLog } from './auth/audit';
import { Authenticator } from './auth/authenticator';
import { AdaptiveLimit } from './grpc/adaptive-limit';
import { CallGate } from './grpc/call-gate';
import { CallInterceptor } from './grpc/call.interceptor';
import { FixedLimit } from './grpc/concurrency-limit';
import { EventLoopLag } from './grpc/event-loop-lag';
import { guardDeserializers } from './grpc/decode-guard';
import { serverCredentials } from './grpc/credentials';
import { RecommendRequestDecoder, servingPackageDefinition } from './grpc/recommend-decoding';
import { rehearseTransport } from './grpc/transport-rehearsal';
import { addReflection } from './grpc/reflection';
import { exposeRepeatedHeaders } from './grpc/duplicate-headers';
import { WarmstartGrpcServer } from './grpc/warmstart-grpc-server';
import { HealthState } from './health/health';
import { ModelManager } from './slots/model-manager';
import { createLogger } from './observability/logger';
import { ServingMetrics, startMetricsServer } from './observability/metrics';
import type { ModelRuntime } from './ports/model-runtime.port';
import type { StorePort } from './ports/store.port';
import { ActiveCatalog } from './recommend/active-catalog';
import { ItemWarmer } from './recommend/item-warmer';
import { RecommendService } from './recommend/recommend.service';
import { ServingContext } from './serving-context';

export interface ServingDeps {
  store: StorePort;
  runtime: ModelRuntime;
  log?: Logger;
}

export interface RunningServer {
  /** The bound gRPC port (useful with port 0). */
  readonly port: number;
  /** The metrics HTTP port, when metrics are on. */
  readonly metricsPort: number | undefined;
  readonly context: ServingContext;
  readonly health: HealthState;
  /** Calls the gate admitted and has not answered yet. */
  readonly activeCalls: () => number;
  /** Reads `--auth-tokens-file` again (SIGHUP); a bad file throws and the tokens in force stay. */
  reloadCredentials(): number;
  /** Graceful stop: NOT_SERVING, stop accepting, drain in-flight calls, free the model, close the store. */
  close(): Promise<void>;
}

/** Builds and starts the whole server; resolves once it accepts calls. */
export async function startServer(config: ServingConfig, deps: ServingDeps): Promise<RunningServer> {
  const log = deps.log ?? createLogger(config.logLevel);
  const cache = new AdaptedCache(config.cacheSize, config.cacheBytes);
  const metrics = new ServingMetrics(cache);
  const health = new HealthState();
  const models = new ModelManager(
    deps.store,
    deps.runtime,
    {
      artifactsRoot: config.artifacts,
      pollIntervalMs: config.pollIntervalMs,
      batching: {
        maxBatchSize: config.batchMaxSize,
        maxWaitMs: config.batchMaxWaitMs,
        maxQueue: config.queueLimit,
        onBatch: (n) => metrics.batchSize.observe(n),
      },
      // A version takes traffic only with the catalog encoded for it (health says SERVING then).
      prepare: async (model) => {
        const started = Date.now();
        const { items, pages } = await catalog.prepare(model);
        log.info(
          { modelId: model.ref.modelId, version: model.ref.version, items, pages, ms: Date.now() - started },
          'catalog encoded for the model',
        );
      },
      rehearse: (slot): Promise<void> => recommender.rehearse(slot),
    },
    log,
  );
  const warmer = new ItemWarmer(deps.store, {
    perItem: config.warmupInteractions,
    freshnessMs: config.freshnessMs,
    historyLimit: config.supportLimit,
    onError: (err) => log.warn({ err }, 'item warm-up failed; new items keep the rows they had'),
    onWarm: (items, ms, way) => {
      metrics.itemsWarmed.inc(items);
      log.info(
        { items, ms: Math.round(ms), way },
        way === 'fold-in'
          ? 'folded new items in from their interactions'
          : 'warmed up new items on their interactions',
      );
    },
  });
  const catalog = new ActiveCatalog(deps.store, {
    selectionRows: config.candidateCacheRows,
    freshnessMs: config.freshnessMs,
    writeCoalesceMs: config.writeCoalesceMs,
    onError: (err) => log.warn({ err }, 'item watermark check failed; serving the catalog read before'),
    warmer,
  });
  models.onChange((ref) => {
    health.setModelLoaded(ref !== undefined);
    metrics.setModel(ref);
    if (ref) {
      cache.retainOnly(ref);
      catalog.retainOnly(ref);
    }
  });
  const recommender: RecommendService = new RecommendService(deps.store, models, cache, catalog, config);
  const context = new ServingContext(config, deps.store, models, cache, catalog, recommender, metrics, log);
  const auth = new Authenticator({
    envEntries: config.authTokens,
    ...(config.authTokensFile !== undefined ? { file: config.authTokensFile } : {}),
    certScopes: config.tlsClientScopes,
  });
  const audit = new AuditLog(log);
  const latencyTargetMs = config.latencyTargetMs ?? DEFAULT_LATENCY_TARGET_MS;
  // The adaptive limit also counts the wait in front of the gate (the event loop's lag).
  const lag = config.maxInFlight === 'adaptive' ? new EventLoopLag() : undefined;
  const limit = lag
    ? new AdaptiveLimit({ targetMs: latencyTargetMs, queueDelayMs: () => lag.read() })
    : new FixedLimit(config.maxInFlight as number);
  metrics.watchConcurrency(limit);
  const gate = new CallGate({ auth, audit, metrics, log, limit });
  const interceptor = new CallInterceptor({ gate, audit, metrics, log, models });
  warnAboutExposure(config, auth.enabled, log);

  // ts-proto codecs, not proto-loader: controllers receive the generated TypeScript shapes.
  // Recommend's decoder remembers recently seen candidate lists (bounded by bytes).
  // Every request deserializer is guarded: undecodable bytes become INVALID_ARGUMENT.
  const packageDefinition = guardDeserializers(
    servingPackageDefinition(new RecommendRequestDecoder(config.candidateDecodeCacheBytes)),
  );
  const strategy = new WarmstartGrpcServer(
    {
      url: `${config.host}:${config.port}`,
      package: PROTO_PACKAGE,
      packageDefinition,
      credentials: serverCredentials(config),
      maxReceiveMessageLength: config.maxMessageBytes,
      maxSendMessageLength: config.maxMessageBytes,
      onLoadPackageDefinition: (_pkg: unknown, server: Server) => {
        health.implementation.addToServer(server);
        addReflection(server, log);
      },
    },
    {
      drainTimeoutMs: config.drainTimeoutMs,
      // The gate authenticates and admits calls before their body is decoded.
      interceptors: [gate.interceptor],
      onServer: (server) => {
        if (!exposeRepeatedHeaders(server))
          log.warn('cannot watch for repeated authorization headers (grpc-js internals changed)');
      },
    },
  );

  let app: INestMicroservice | undefined;
  let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined;
  try {
    await models.start();
    app = await NestFactory.createMicroservice(AppModule.forRoot(context), { strategy, logger: false });
    app.useGlobalInterceptors(interceptor);
    if (models.current !== undefined) {
      const started = Date.now();
      await rehearseTransport(packageDefinition, app.get(RecommenderController), deps.store).then(
        (ran) => ran && log.info({ ms: Date.now() - started }, 'Recommend rehearsed through the controller'),
        (err: unknown) =>
          log.warn({ err }, 'Recommend rehearsal through the controller failed; serving anyway'),
      );
    }
    await app.listen();
    if (config.metrics)
      metricsServer = await startMetricsServer(metrics.registry, config.metricsHost, config.metricsPort);
  } catch (err) {
    lag?.stop();
    await app?.close().catch(() => undefined);
    await models.stop();
    throw err;
  }
  const port = strategy.port as number;
  log.info(
    {
      port,
      metricsPort: metricsServer?.port,
      model: models.current,
      auth: auth.enabled,
      tokens: auth.tokenCount,
      maxInFlight: config.maxInFlight,
      ...(config.maxInFlight === 'adaptive' ? { latencyTargetMs } : {}),
      tls: config.tlsCert !== undefined,
      mtls: config.tlsClientCa !== undefined,
      batchMaxSize: config.batchMaxSize,
      cacheSize: config.cacheSize,
    },
    'warmstart-serve listening',
  );
  if (models.current === undefined)
    log.warn(
      'no promoted model yet: Recommend and Score answer FAILED_PRECONDITION until one is promoted ' +
        '(warmstart-trainer train, or PromoteModel)',
    );

  let closing: Promise<void> | undefined;
  const nest = app;
  return {
    port,
    metricsPort: metricsServer?.port,
    context,
    health,
    activeCalls: () => gate.activeCalls,
    reloadCredentials: () => auth.reload(),
    close: () =>
      (closing ??= (async () => {
        health.shutdown();
        await nest.close();
        await models.stop();
        await metricsServer?.close();
        await deps.store.close();
        lag?.stop();
        log.info({ port }, 'warmstart-serve stopped');
      })()),
  };
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|\[::1\]|localhost)$/i;

/** Start-up warnings for what listens beyond loopback without protection. */
function warnAboutExposure(config: ServingConfig, authEnabled: boolean, log: Logger): void {
  if (!authEnabled && !LOOPBACK.test(config.host))
    log.warn(
      { host: config.host, port: config.port },
      'gRPC listens beyond loopback with auth off: anyone who reaches the port can read and write the feature store and promote models (set --auth-tokens-file or WARMSTART_AUTH_TOKENS, or --host 127.0.0.1)',
    );
  if (config.metrics && !LOOPBACK.test(config.metricsHost))
    log.warn(
      { metricsHost: config.metricsHost, metricsPort: config.metricsPort },
      '/metrics listens beyond loopback and has no auth',
    );
}
