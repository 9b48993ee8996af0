import { MicroBatcher, type MicroBatcherOptions } from '../batching/micro-batcher';
import { Shared } from '../cache/shared';
import type { AdaptInput, AdaptedUser, ServingModel } from '../ports/model-runtime.port';
import type { ItemRecord } from '../ports/types';

export interface AdaptJob {
  input: AdaptInput;
  /** Features of the support items this user references. */
  items: ReadonlyMap<string, ItemRecord>;
}

/**
 * One loaded model version taking traffic: its adaptation micro-batcher and a count of the
 * requests using it, so that a replaced version is disposed only after its last request ends.
 */
export class ModelSlot {
  readonly batcher: MicroBatcher<AdaptJob, Shared<AdaptedUser>>;
  private inFlight = 0;
  private retired = false;
  private drained: (() => void) | undefined;

  constructor(
    readonly model: ServingModel,
    options: MicroBatcherOptions,
  ) {
    this.batcher = new MicroBatcher((jobs) => this.adaptBatch(jobs), options);
  }

  get ref() {
    return this.model.ref;
  }

  get activeRequests(): number {
    return this.inFlight;
  }

  enter(): void {
    this.inFlight += 1;
  }

  leave(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) this.drained?.();
  }

  /** Lets in-flight requests finish, then frees the model. Idempotent. */
  async retire(): Promise<void> {
    if (this.retired) return;
    this.retired = true;
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    await this.batcher.close();
    this.model.dispose();
  }

  private adaptBatch(jobs: AdaptJob[]): Shared<AdaptedUser>[] {
    const items = new Map<string, ItemRecord>();
    for (const job of jobs) for (const [id, item] of job.items) items.set(id, item);
    return this.model
      .adapt(
        jobs.map((j) => j.input),
        items,
      )
      .map((user) => new Shared(user));
  }
}
