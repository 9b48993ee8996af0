import * as path from 'node:path';
import type { Logger } from 'pino';
import { failedPrecondition } from '../grpc/errors';
import type { MicroBatcherOptions } from '../batching/micro-batcher';
import type { ModelRuntime, ServingModel } from '../ports/model-runtime.port';
import type { ModelVersionRecord, StorePort } from '../ports/store.port';
import type { ModelRef } from '../ports/types';
import { ModelSlot } from './model-slot';

export interface ModelManagerOptions {
  artifactsRoot: string;
  pollIntervalMs: number;
  batching: MicroBatcherOptions;
}

export type ModelListener = (ref: ModelRef | undefined) => void;

const refKey = (r: ModelRef) => `${r.modelId}@${r.version}`;

/**
 * Serves the registry's promoted version. A newly promoted version is loaded, verified and
 * warmed up before it takes traffic; requests already running keep the old version until they
 * finish; a version that fails to load is logged and the old one keeps serving. The registry is
 * polled so that a promotion made by the trainer reaches every replica.
 */
export class ModelManager {
  private slot: ModelSlot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly failed = new Set<string>();
  private readonly listeners: ModelListener[] = [];

  constructor(
    private readonly store: StorePort,
    private readonly runtime: ModelRuntime,
    private readonly options: ModelManagerOptions,
    private readonly log: Logger,
  ) {}

  get current(): ModelRef | undefined {
    return this.slot?.ref;
  }

  onChange(listener: ModelListener): void {
    this.listeners.push(listener);
  }

  /** Loads the promoted version (if any), then polls the registry. */
  async start(): Promise<void> {
    await this.refresh();
    if (this.options.pollIntervalMs > 0) {
      this.timer = setInterval(() => this.poll(), this.options.pollIntervalMs);
      this.timer.unref();
    }
  }

  /** The slot new requests run on; the caller must `leave()` it. */
  acquire(): ModelSlot {
    const slot = this.slot;
    if (slot === undefined)
      throw failedPrecondition('no model is promoted yet: train one and promote it (PromoteModel)');
    slot.enter();
    return slot;
  }

  /** Checks the registry now; checks run one at a time, so a check never sees a stale answer. */
  refresh(): Promise<void> {
    const run = (this.refreshing ?? Promise.resolve()).then(() => this.checkRegistry());
    this.refreshing = run;
    void run.finally(() => {
      if (this.refreshing === run) this.refreshing = undefined;
    });
    return run;
  }

  private poll(): void {
    if (this.refreshing === undefined) void this.refresh();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.refreshing?.catch(() => undefined);
    const slot = this.slot;
    this.slot = undefined;
    await slot?.retire();
  }

  private async checkRegistry(): Promise<void> {
    let promoted: ModelVersionRecord | undefined;
    try {
      promoted = await this.store.registry.getPromoted();
    } catch (err) {
      this.log.error({ err }, 'registry poll failed; keeping the current model');
      return;
    }
    if (promoted === undefined) return;
    const ref = { modelId: promoted.modelId, version: promoted.version };
    if (this.slot !== undefined && refKey(this.slot.ref) === refKey(ref)) return;
    if (this.failed.has(refKey(ref))) return;
    await this.swapTo(promoted, ref);
  }

  private async swapTo(record: ModelVersionRecord, ref: ModelRef): Promise<void> {
    const started = Date.now();
    const dir = path.resolve(this.options.artifactsRoot, record.artifactUri.replace(/^file:\/\//, ''));
    let model: ServingModel | undefined;
    try {
      model = await this.runtime.load(dir, ref);
      await this.warmUp(model);
    } catch (err) {
      model?.dispose();
      this.failed.add(refKey(ref));
      this.log.error(
        { err, modelId: ref.modelId, version: ref.version, artifact: dir, serving: this.slot?.ref },
        'model load failed; the previous version keeps serving',
      );
      return;
    }
    const old = this.slot;
    this.slot = new ModelSlot(model, this.options.batching);
    this.log.info(
      { modelId: ref.modelId, version: ref.version, previous: old?.ref, loadMs: Date.now() - started },
      'model version now serving',
    );
    for (const l of this.listeners) l(ref);
    // The old version finishes its in-flight requests in the background.
    void old?.retire().catch((err: unknown) => this.log.error({ err }, 'retiring a model failed'));
  }

  /** One adaptation + scoring pass: proves the model works and pays first-call costs before traffic. */
  private async warmUp(model: ServingModel): Promise<void> {
    const page = await this.store.activeItems({ pageSize: 16 });
    const items = page.items;
    if (items.length === 0) return;
    const [low, high] = model.ratingRange;
    const support = items.slice(0, 2).map((i) => ({ itemId: i.id, value: (low + high) / 2 }));
    const [user] = model.adapt(
      [{ user: { id: '__warmup__', features: {} }, support }],
      new Map(items.map((i) => [i.id, i])),
    );
    const encoded = model.encodeItems(items);
    try {
      const scores = user?.score(encoded) ?? new Float32Array();
      // The batched path Recommend uses (model.scoreMany) must work too.
      const batched = user ? (model.scoreMany([user], encoded)[0] ?? new Float32Array()) : scores;
      if (
        scores.length !== items.length ||
        !scores.every(Number.isFinite) ||
        batched.length !== items.length ||
        !batched.every(Number.isFinite)
      )
        throw new Error('verification failed: warm-up produced missing or non-finite scores');
    } finally {
      encoded.dispose();
      user?.dispose();
    }
  }
}
