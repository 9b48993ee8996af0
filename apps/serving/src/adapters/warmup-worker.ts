/**
 * Worker-thread entry of {@link WarmUpThread}: keeps copies of the serving models (spec, config,
 * weights) and runs core's warmUpItems for them, so item warm-up never blocks the server's
 * event loop. Messages: `load` (a model under a key), `drop` (free it), `warm` (answered with the
 * rows, or an error message).
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  FeatureSpec,
  initBackend,
  RecommenderModel,
  warmUpItems,
  type FeatureSpecJSON,
  type ItemWarmUpRequest,
  type ModelConfig,
} from '@warmstart/core';

export type WarmUpMessage =
  | {
      type: 'load';
      key: number;
      spec: FeatureSpecJSON;
      config: ModelConfig;
      values: Map<string, Float32Array>;
      globalMean: number;
    }
  | { type: 'drop'; key: number }
  | { type: 'warm'; key: number; id: number; requests: ItemWarmUpRequest[] };

export type WarmUpReply = { id: number; rows: [string, Float32Array][] } | { id: number; error: string };

/** Options the thread is started with. */
export interface WarmUpWorkerData {
  /** Backend to use (the server's own choice). */
  backend?: string;
}

const port = parentPort;
if (port) {
  const data = (workerData ?? {}) as WarmUpWorkerData;
  const ready = initBackend(data.backend ? { prefer: data.backend } : {});
  const models = new Map<number, RecommenderModel>();
  // Handled one at a time, in order (a warm-up must see the load sent before it).
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (msg: WarmUpMessage) => {
    queue = queue.then(async () => {
      await ready;
      handle(msg);
    });
  });

  const handle = (msg: WarmUpMessage): void => {
    if (msg.type === 'load') {
      const model = new RecommenderModel(FeatureSpec.fromJSON(msg.spec), msg.config, msg.values);
      model.globalMean = msg.globalMean;
      models.set(msg.key, model);
    } else if (msg.type === 'drop') {
      models.get(msg.key)?.dispose();
      models.delete(msg.key);
    } else {
      let reply: WarmUpReply;
      try {
        const model = models.get(msg.key);
        if (!model) throw new Error(`warm-up worker: no model ${msg.key}`);
        reply = { id: msg.id, rows: [...warmUpItems(model, msg.requests)] };
      } catch (err) {
        reply = { id: msg.id, error: err instanceof Error ? err.message : String(err) };
      }
      const buffers = 'rows' in reply ? reply.rows.map(([, r]) => r.buffer as ArrayBuffer) : [];
      port.postMessage(reply, buffers);
    }
  };
}
