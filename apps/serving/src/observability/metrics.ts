import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AdaptedCache } from '../cache/adapted-cache';
import type { ConcurrencyLimit } from '../grpc/concurrency-limit';
import type { ModelRef } from '../ports/types';

/** Prometheus metrics of one server instance (own registry, so tests can run several servers). */
export class ServingMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'warmstart_grpc_requests_total',
    help: 'gRPC calls by method and status code',
    labelNames: ['method', 'code'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'warmstart_grpc_request_duration_seconds',
    help: 'gRPC call latency by method and status code',
    labelNames: ['method', 'code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'warmstart_adapt_batch_size',
    help: 'users adapted together in one batched computation',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  readonly itemsWarmed = new Counter({
    name: 'warmstart_items_warmed_total',
    help: 'new items warmed up on their interactions (an item counts again each time it is re-warmed)',
    registers: [this.registry],
  });
  readonly modelLoaded = new Gauge({
    name: 'warmstart_model_loaded',
    help: '1 for the model version this replica serves',
    labelNames: ['model_id', 'version'] as const,
    // Under --workers the primary sums the workers' metrics; a version any worker serves reads 1.
    aggregator: 'max',
    registers: [this.registry],
  });

  constructor(cache: AdaptedCache) {
    const registers = [this.registry];
    new Gauge({
      name: 'warmstart_adapted_cache_hits_total',
      help: 'adapted-state cache hits',
      registers,
      collect() {
        this.set(cache.hits);
      },
    });
    new Gauge({
      name: 'warmstart_adapted_cache_misses_total',
      help: 'adapted-state cache misses',
      registers,
      collect() {
        this.set(cache.misses);
      },
    });
    new Gauge({
      name: 'warmstart_adapted_cache_hit_ratio',
      help: 'adapted-state cache hits / lookups since start',
      registers,
      aggregator: 'average',
      collect() {
        const total = cache.hits + cache.misses;
        this.set(total === 0 ? 0 : cache.hits / total);
      },
    });
    new Gauge({
      name: 'warmstart_adapted_cache_entries',
      help: 'adapted users in the cache',
      registers,
      collect() {
        this.set(cache.size);
      },
    });
    new Gauge({
      name: 'warmstart_adapted_cache_bytes',
      help: 'bytes of adapted tensors the cache keeps alive',
      registers,
      collect() {
        this.set(cache.bytes);
      },
    });
    collectDefaultMetrics({ register: this.registry, prefix: 'warmstart_' });
  }

  observeCall(method: string, code: string, seconds: number): void {
    this.requests.inc({ method, code });
    this.latency.observe({ method, code }, seconds);
  }

  /** Exports the call gate's limit and the calls it admitted (summed over `--workers`). */
  watchConcurrency(limit: ConcurrencyLimit): void {
    const gauges: [string, string, () => number][] = [
      [
        'warmstart_concurrency_limit',
        'calls admitted at once (with --max-in-flight adaptive it follows latency)',
        () => limit.limit,
      ],
      ['warmstart_calls_in_flight', 'calls admitted and not yet answered', () => limit.inFlight],
    ];
    for (const [name, help, read] of gauges)
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read());
        },
      });
  }

  setModel(ref: ModelRef | undefined): void {
    this.modelLoaded.reset();
    if (ref) this.modelLoaded.set({ model_id: ref.modelId, version: String(ref.version) }, 1);
  }
}

/** Where `/metrics` comes from: a prom-client registry, or a `--workers` primary's sum of its workers'. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

/** Serves `GET /metrics` in the Prometheus text format. */
export async function startMetricsServer(
  source: MetricsSource,
  host: string,
  port: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    source.metrics().then(
      (body) => res.writeHead(200, { 'content-type': source.contentType }).end(body),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
