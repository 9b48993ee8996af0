import { MicroBatcher, type MicroBatcherOptions } from '../batching/micro-batcher';
import { Shared } from '../cache/shared';
import type { AdaptInput, AdaptedUser, EncodedItemSet, ServingModel } from '../ports/model-runtime.port';
import type { ItemRecord } from '../ports/types';

export interface AdaptJob {
  input: AdaptInput;
  /** Features of the support items this user references. */
  items: ReadonlyMap<string, ItemRecord>;
  /**
   * Candidate item sets to score right after adaptation, in the same batched pass: every user of
   * the batch that wants a set is scored on it in one computation. The caller keeps them alive
   * until the job resolves.
   */
  candidates?: readonly EncodedItemSet[];
}

/**
 * A job's adapted state (the caller releases it) and its scores per candidate set: computed in
 * the batch for sets that several jobs of the batch want; undefined for a set only this job
 * wants (the caller scores it: doing that inside the batch saves nothing and would hold every
 * other request of the batch until it is done).
 */
export interface Adaptation {
  state: Shared<AdaptedUser>;
  scores: (Float32Array | undefined)[];
}

/**
 * One loaded model version taking traffic: its adaptation micro-batcher and a count of the
 * requests using it, so that a replaced version is disposed only after its last request ends.
 */
export class ModelSlot {
  readonly batcher: MicroBatcher<AdaptJob, Adaptation>;
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

  private adaptBatch(jobs: AdaptJob[]): Adaptation[] {
    const items = new Map<string, ItemRecord>();
    for (const job of jobs) for (const [id, item] of job.items) items.set(id, item);
    const users = this.model.adapt(
      jobs.map((j) => j.input),
      items,
    );
    try {
      const scores = jobs.map((job) => new Array<Float32Array | undefined>(job.candidates?.length ?? 0));
      // Jobs wanting the same candidate set (e.g. the same cached selection) are scored together.
      const wanting = new Map<EncodedItemSet, { job: number; slot: number }[]>();
      jobs.forEach((job, j) =>
        job.candidates?.forEach((set, slot) => {
          const list = wanting.get(set);
          if (list) list.push({ job: j, slot });
          else wanting.set(set, [{ job: j, slot }]);
        }),
      );
      for (const [set, list] of wanting) {
        if (list.length < 2) continue;
        // The batch ranks Recommend's shared candidate sets (the ranker's scores, when the model has one).
        const out = this.model.rankMany(
          list.map((w) => users[w.job] as AdaptedUser),
          set,
        );
        list.forEach((w, i) => ((scores[w.job] as (Float32Array | undefined)[])[w.slot] = out[i]));
      }
      return users.map((user, j) => ({
        state: new Shared(user),
        scores: scores[j] as (Float32Array | undefined)[],
      }));
    } catch (err) {
      for (const user of users) user.dispose();
      throw err;
    }
  }
}
