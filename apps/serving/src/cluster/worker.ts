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
 *
 * The report leaves on the next turn of the event loop, after the caller has installed its
 * SIGTERM/SIGINT handlers in the same turn as this call: the primary may signal a worker as soon
 * as it counts it ready, and a signal that came before the handlers would kill the worker by the
 * default action, undrained.
 */
export function joinCluster(port: number, registry: Registry): void {
  AggregatorRegistry.setRegistries([registry]);
  // Constructing one is what installs prom-client's listener for the primary's metrics requests.
  new AggregatorRegistry();
  const message: ReadyMessage = { type: READY, port };
  setImmediate(() => process.send?.(message));
}
