import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import {
  userBaseToJSON,
  type ItemFoldInFromHistories,
  type ItemRecord,
  type ItemWarmUpRequest,
  type RecommenderModel,
} from '@warmstart/core';
import type { WarmUpMessage, WarmUpReply, WarmUpWorkerData } from './warmup-worker';

/** The compiled worker script next to this file (absent when running from TypeScript sources). */
const SCRIPT = path.join(__dirname, 'warmup-worker.js');

/**
 * Item warm-up on a worker thread: a warm-up of many items takes hundreds of milliseconds of
 * tensor work, which on the main thread would stall every request in flight. The worker holds a
 * copy of each model it warms for (sent once: spec, config and weights, about a megabyte) and
 * answers with the rows; the main thread only merges them.
 */
export class WarmUpThread {
  private readonly worker: Worker;
  private readonly keys = new WeakMap<RecommenderModel, number>();
  private readonly pending = new Map<
    number,
    { resolve(rows: Map<string, Float32Array>): void; reject(e: Error): void }
  >();
  private nextKey = 1;
  private nextId = 1;
  private failed: Error | undefined;

  /** Whether the compiled worker script exists (it does in the built server). */
  static get available(): boolean {
    return existsSync(SCRIPT);
  }

  /** @param script the compiled worker (tests running from sources pass the built one). */
  constructor(data: WarmUpWorkerData = {}, script = SCRIPT) {
    this.worker = new Worker(script, { workerData: data });
    // The thread must not keep the process alive on its own.
    this.worker.unref();
    this.worker.on('message', (reply: WarmUpReply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if ('error' in reply) waiter.reject(new Error(reply.error));
      else waiter.resolve(new Map(reply.rows));
    });
    const fail = (err: Error) => {
      this.failed = err;
      for (const w of this.pending.values()) w.reject(err);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`warm-up worker exited (code ${code})`)));
  }

  /** Core's warmUpItems for `model`, run on the thread. */
  warm(model: RecommenderModel, requests: readonly ItemWarmUpRequest[]): Promise<Map<string, Float32Array>> {
    if (this.failed) return Promise.reject(this.failed);
    const key = this.keyOf(model);
    const id = this.nextId++;
    const result = this.reply(id);
    this.post({ type: 'warm', key, id, requests: [...requests] });
    return result;
  }

  /** Core's foldInItemsFromHistories for `model` (which has a foldInBase), run on the thread. */
  foldIn(
    model: RecommenderModel,
    requests: readonly ItemFoldInFromHistories[],
    items: ReadonlyMap<string, ItemRecord>,
  ): Promise<Map<string, Float32Array>> {
    if (this.failed) return Promise.reject(this.failed);
    const key = this.keyOf(model);
    const id = this.nextId++;
    const result = this.reply(id);
    this.post({ type: 'fold', key, id, requests: [...requests], items: new Map(items) });
    return result;
  }

  /** The thread's key for `model`, sending the model over the first time. */
  private keyOf(model: RecommenderModel): number {
    let key = this.keys.get(model);
    if (key !== undefined) return key;
    key = this.nextKey++;
    this.keys.set(model, key);
    this.post({
      type: 'load',
      key,
      spec: model.spec.toJSON(),
      config: model.config,
      values: model.snapshot().params,
      globalMean: model.globalMean,
      itemWarmUp: model.itemWarmUp,
      ...(model.foldInBase &&
        model.negativePool && {
          foldIn: { negatives: model.negativePool.toJSON(), base: userBaseToJSON(model.foldInBase) },
        }),
    });
    return key;
  }

  private reply(id: number): Promise<Map<string, Float32Array>> {
    return new Promise<Map<string, Float32Array>>((resolve, reject) =>
      this.pending.set(id, { resolve, reject }),
    );
  }

  /** Frees the thread's copy of `model` (it no longer serves). */
  drop(model: RecommenderModel): void {
    const key = this.keys.get(model);
    if (key === undefined || this.failed) return;
    this.keys.delete(model);
    this.post({ type: 'drop', key });
  }

  async close(): Promise<void> {
    this.failed ??= new Error('warm-up worker closed');
    await this.worker.terminate();
  }

  private post(msg: WarmUpMessage): void {
    this.worker.postMessage(msg);
  }
}
