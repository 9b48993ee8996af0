import * as path from 'node:path';
import type { Logger } from 'pino';
import { NoModel } from '../domain/errors';
import type { MicroBatcherOptions } from '../batching/micro-batcher';
import type { ModelRuntime, ServingModel } from '../ports/model-runtime.port';
import type { ModelVersionRecord, StorePort } from '../ports/store.port';
import type { ModelRef } from '../ports/types';
import { ModelSlot } from './model-slot';

export interface ModelManagerOptions {
  artifactsRoot: string;
  pollIntervalMs: number;
  batching: MicroBatcherOptions;
  /**
   * Readies what a loaded, verified version serves with before it takes traffic (the server:
   * the active catalog read and encoded for it); a failure counts as a failed load.
   */
  prepare?: (model: ServingModel) => Promise<void>;
  /**
   * Runs requests on a prepared version before it takes traffic (the server: Recommend in
   * rehearsal), so that the first caller does not pay one-time costs; a failure is logged and
   * the version still takes traffic (it passed verification).
   */
  rehearse?: (slot: ModelSlot) => Promise<void>;
}

export type ModelListener = (ref: ModelRef | undefined) => void;

/** First retry delay of a version that failed to load (doubled per failure, see {@link retryDelayMs}). */
export const RETRY_BASE_MS = 1000;
/** Longest wait between two load attempts of a failed version. */
export const RETRY_MAX_MS = 5 * 60_000;

/**
 * How long polls leave a version alone after its `failures`-th failed load: the poll interval
 * (at least {@link RETRY_BASE_MS}) doubled per failure, capped at {@link RETRY_MAX_MS}.
 */
export function retryDelayMs(failures: number, pollIntervalMs: number): number {
  const base = Math.max(RETRY_BASE_MS, pollIntervalMs);
  return Math.min(RETRY_MAX_MS, base * 2 ** Math.min(Math.max(failures - 1, 0), 30));
}

interface FailedLoad {
  failures: number;
  /** Polls before this time (ms since the epoch) skip the version. */
  retryAt: number;
}

const refKey = (r: ModelRef) => `${r.modelId}@${r.version}`;

/**
 * Serves the registry's promoted version. A newly promoted version is loaded, verified, warmed
 * up and prepared (`prepare`: the catalog encoded for it) before it takes traffic; requests already running keep the old version until they
 * finish; a version that fails to load is logged and the old one keeps serving. The registry is
 * polled so that a promotion made by the trainer reaches every replica. A version that failed to
 * load is tried again by later polls with a bounded exponential backoff ({@link retryDelayMs}),
 * and at once by an explicit refresh (PromoteModel / RollbackModel on this replica).
 */
export class ModelManager {
  private slot: ModelSlot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private readonly failed = new Map<string, FailedLoad>();
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
      throw new NoModel('no model is promoted yet: train one and promote it (PromoteModel)');
    slot.enter();
    return slot;
  }

  /**
   * Checks the registry now; checks run one at a time, so a check never sees a stale answer. An
   * explicit refresh (`force`, the default: a Promote/Rollback call) also retries a version whose
   * load failed without waiting for its backoff.
   */
  refresh(force = true): Promise<void> {
    const run = (this.refreshing ?? Promise.resolve()).then(() => this.checkRegistry(force));
    this.refreshing = run;
    void run.finally(() => {
      if (this.refreshing === run) this.refreshing = undefined;
    });
    return run;
  }

  private poll(): void {
    if (this.refreshing === undefined) void this.refresh(false);
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    await this.refreshing?.catch(() => undefined);
    const slot = this.slot;
    this.slot = undefined;
    await slot?.retire();
  }

  /** Failed load attempts of a version so far (0 once it loaded). */
  failures(ref: ModelRef): number {
    return this.failed.get(refKey(ref))?.failures ?? 0;
  }

  private async checkRegistry(force: boolean): Promise<void> {
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
    const failed = this.failed.get(refKey(ref));
    if (failed !== undefined && !force && Date.now() < failed.retryAt) return;
    await this.swapTo(promoted, ref, failed?.failures ?? 0);
  }

  private async swapTo(record: ModelVersionRecord, ref: ModelRef, failedBefore: number): Promise<void> {
    const started = Date.now();
    const dir = path.resolve(this.options.artifactsRoot, record.artifactUri.replace(/^file:\/\//, ''));
    let model: ServingModel | undefined;
    try {
      model = await this.runtime.load(dir, ref);
      await this.warmUp(model);
      await this.options.prepare?.(model);
    } catch (err) {
      model?.dispose();
      const failures = failedBefore + 1;
      const delay = retryDelayMs(failures, this.options.pollIntervalMs);
      this.failed.set(refKey(ref), { failures, retryAt: Date.now() + delay });
      this.log.error(
        {
          err,
          modelId: ref.modelId,
          version: ref.version,
          artifact: dir,
          serving: this.slot?.ref,
          attempt: failures,
          ...(this.options.pollIntervalMs > 0 ? { retryInMs: delay } : {}),
        },
        'model load failed; the previous version keeps serving',
      );
      return;
    }
    // Only the promoted version is ever retried: forget older failures.
    this.failed.clear();
    const slot = new ModelSlot(model, this.options.batching);
    const rehearsing = Date.now();
    try {
      await this.options.rehearse?.(slot);
    } catch (err) {
      this.log.warn({ err, modelId: ref.modelId, version: ref.version }, 'rehearsal failed; serving anyway');
    }
    const old = this.slot;
    this.slot = slot;
    this.log.info(
      {
        modelId: ref.modelId,
        version: ref.version,
        previous: old?.ref,
        loadMs: Date.now() - started,
        ...(this.options.rehearse ? { rehearsalMs: Date.now() - rehearsing } : {}),
      },
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
      // And two-stage ranking, which large all-active catalogs take (its first run compiles it).
      const shortlist =
        user && model.shortlists ? model.rankShortlist(user, [encoded], { size: 4 }) : undefined;
      if (
        scores.length !== items.length ||
        !scores.every(Number.isFinite) ||
        batched.length !== items.length ||
        !batched.every(Number.isFinite) ||
        (shortlist && !shortlist.every((e) => Number.isFinite(e.score)))
      )
        throw new Error('verification failed: warm-up produced missing or non-finite scores');
    } finally {
      encoded.dispose();
      user?.dispose();
    }
  }
}
