/**
 * Worker-thread entry of {@link WarmUpThread}: keeps copies of the serving models (spec, config,
 * weights, and for models that fold new items in their negative pool and user base) and runs
 * core's warmUpItems or foldInItemsFromHistories for them, so new items never block the server's
 * event loop. Messages: `load` (a model under a key), `drop` (free it), `warm` and `fold`
 * (answered with the rows, or an error message).
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  FeatureSpec,
  foldInItemsFromHistories,
  initBackend,
  NegativePool,
  RecommenderModel,
  userBaseFromJSON,
  warmUpItems,
  type FeatureSpecJSON,
  type ItemFoldInFromHistories,
  type ItemRecord,
  type ItemWarmUpRequest,
  type ModelConfig,
  type NegativePoolJSON,
  type UserBaseJSON,
  type WarmUpOptions,
} from '@warmstart/core';

export type WarmUpMessage =
  | {
      type: 'load';
      key: number;
      spec: FeatureSpecJSON;
      config: ModelConfig;
      values: Map<string, Float32Array>;
      globalMean: number;
      /** The model's own warm-up settings (core `model.itemWarmUp`). */
      itemWarmUp: WarmUpOptions;
      /** Models that fold new items in: what the fold-in reads besides the weights. */
      foldIn?: { negatives: NegativePoolJSON; base: UserBaseJSON };
    }
  | { type: 'drop'; key: number }
  | { type: 'warm'; key: number; id: number; requests: ItemWarmUpRequest[] }
  | {
      type: 'fold';
      key: number;
      id: number;
      requests: ItemFoldInFromHistories[];
      items: Map<string, ItemRecord>;
    };

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
      model.itemWarmUp = msg.itemWarmUp;
      if (msg.foldIn) {
        const width = model.layout.hidden[model.layout.hidden.length - 1] + 1;
        model.negativePool = NegativePool.fromJSON(msg.foldIn.negatives, model.layout.di);
        model.foldInBase = userBaseFromJSON(msg.foldIn.base, width);
      }
      models.set(msg.key, model);
    } else if (msg.type === 'drop') {
      models.get(msg.key)?.dispose();
      models.delete(msg.key);
    } else {
      let reply: WarmUpReply;
      try {
        const model = models.get(msg.key);
        if (!model) throw new Error(`warm-up worker: no model ${msg.key}`);
        const rows =
          msg.type === 'warm'
            ? warmUpItems(model, msg.requests)
            : foldInItemsFromHistories(model, msg.requests, msg.items);
        reply = { id: msg.id, rows: [...rows] };
      } catch (err) {
        reply = { id: msg.id, error: err instanceof Error ? err.message : String(err) };
      }
      const buffers = 'rows' in reply ? reply.rows.map(([, r]) => r.buffer as ArrayBuffer) : [];
      port.postMessage(reply, buffers);
    }
  };
}
