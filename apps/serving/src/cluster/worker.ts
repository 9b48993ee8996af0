import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/** What a worker sends its primary once its gRPC server accepts calls. */
export const READY = 'warmstart:worker-ready';
export interface ReadyMessage {
  type: typeof READY;
  port: number;
}

/** True in a process forked by `--workers N`'s primary. */
export const isClusterWorker = (): boolean => cluster.isWorker;

/**
 * The worker's side of `--workers N`: answers the primary's metrics requests from this server's
 * registry (the primary sums them on its one `/metrics`) and reports that it is listening.
 */
export function joinCluster(port: number, registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one is what installs prom-client's listener for the primary's metrics requests.
  new AggregatorRegistry();
  const message: ReadyMessage = { type: READY, port };
  process.send?.(message);
}
