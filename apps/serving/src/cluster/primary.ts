import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import type { ServingConfig } from '../config/config';
import { startMetricsServer } from '../observability/metrics';
import { READY, type ReadyMessage } from './worker';

/** A worker that dies this often within RESTART_WINDOW_MS is not restarted again: the primary exits 1. */
const MAX_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;

/**
 * The primary of `--workers N`: forks N server processes that share the gRPC port (Node's cluster
 * module hands each new connection to the next worker), restarts a worker that dies while serving,
 * serves the workers' metrics summed on one `/metrics` endpoint, and on SIGTERM/SIGINT stops every
 * worker gracefully (each drains its in-flight calls) before exiting. Resolves with the exit code.
 *
 * Why processes: one Node process runs its JavaScript (request decoding, feature lookups, tensor
 * op dispatch) on one core; N workers use N cores. Each worker keeps its own model copy, adapted
 * -state cache and micro-batcher, and polls the registry itself, as separate replicas would.
 */
export function runPrimary(config: ServingConfig, log: Logger): Promise<number> {
  // Each worker's native matMul pool gets its share of the cores instead of all of them.
  const nativeThreads =
    process.env['WARMSTART_NATIVE_THREADS'] ??
    String(Math.max(1, Math.floor(availableParallelism() / config.workers)));
  const env = { WARMSTART_NATIVE_THREADS: nativeThreads };

  return new Promise<number>((resolve) => {
    let stopping = false;
    let ready = 0;
    let announced = false;
    const restarts: number[] = [];
    const readyWorkers = new WeakSet<Worker>();
    const aggregator = config.metrics ? new AggregatorRegistry() : undefined;
    let metricsServer: Awaited<ReturnType<typeof startMetricsServer>> | undefined;

    const finish = async (code: number) => {
      await metricsServer?.close();
      resolve(code);
    };
    const stopAll = (reason: string, code: number) => {
      if (stopping) return;
      stopping = true;
      log.info({ reason, workers: Object.keys(cluster.workers ?? {}).length }, 'stopping workers');
      const live = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      if (live.length === 0) void finish(code);
      let failed = code;
      let left = live.length;
      for (const worker of live) {
        worker.once('exit', (exitCode) => {
          if (exitCode !== 0 && exitCode !== null) failed = failed || 1;
          if (--left === 0) void finish(failed);
        });
        worker.process.kill('SIGTERM');
      }
    };

    cluster.on('message', (worker, message: ReadyMessage) => {
      if (message?.type !== READY || readyWorkers.has(worker)) return;
      readyWorkers.add(worker);
      if (++ready === config.workers && !announced) {
        announced = true;
        log.info({ workers: config.workers, port: message.port, nativeThreads }, 'all workers listening');
        if (aggregator)
          startMetricsServer(
            { contentType: aggregator.contentType, metrics: () => aggregator.clusterMetrics() },
            config.metricsHost,
            config.metricsPort,
          ).then(
            (server) => {
              metricsServer = server;
              log.info({ metricsPort: server.port }, 'metrics of all workers served');
            },
            (err: unknown) => {
              log.error({ err }, 'metrics server failed to start');
              stopAll('metrics server failed', 1);
            },
          );
      }
    });

    cluster.on('exit', (worker, code, signal) => {
      if (stopping) return;
      if (!readyWorkers.has(worker)) {
        // A worker that dies before listening (bad database, port taken, bad artifact root)
        // would die again: stop instead of looping.
        log.error({ pid: worker.process.pid, code, signal }, 'worker failed to start');
        stopAll('a worker failed to start', 1);
        return;
      }
      const now = Date.now();
      restarts.push(now);
      while (restarts.length > 0 && (restarts[0] as number) < now - RESTART_WINDOW_MS) restarts.shift();
      if (restarts.length > MAX_RESTARTS) {
        log.error(
          { restarts: restarts.length, windowMs: RESTART_WINDOW_MS },
          'workers keep dying: giving up',
        );
        stopAll('too many worker restarts', 1);
        return;
      }
      log.warn({ pid: worker.process.pid, code, signal }, 'worker died: restarting it');
      cluster.fork(env);
    });

    // Every worker re-reads --auth-tokens-file itself.
    process.on('SIGHUP', () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
    });
    process.on('SIGTERM', () => stopAll('SIGTERM', 0));
    process.on('SIGINT', () => stopAll('SIGINT', 0));
    log.info({ workers: config.workers, nativeThreads }, 'starting workers');
    for (let i = 0; i < config.workers; i++) cluster.fork(env);
  });
}
