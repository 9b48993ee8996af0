import { deadlineExceeded, resourceExhausted, unavailable } from '../grpc/errors';

export interface MicroBatcherOptions {
  /** Largest batch handed to the handler; 1 means every input is processed alone. */
  maxBatchSize: number;
  /** How long the first waiting input may wait for the batch to fill. */
  maxWaitMs: number;
  /** Inputs waiting beyond this are refused with RESOURCE_EXHAUSTED instead of queueing forever. */
  maxQueue: number;
  /** Observes each batch size (metrics). */
  onBatch?: (size: number) => void;
}

interface Pending<I, O> {
  input: I;
  deadline: number;
  resolve: (value: O) => void;
  reject: (reason: unknown) => void;
}

/**
 * Groups concurrent inputs into batches so that one batched computation serves many callers:
 * a batch is flushed when it is full or when its first input has waited `maxWaitMs`. Batches
 * run one at a time; inputs arriving meanwhile form the next batch, so batch size grows with load.
 */
export class MicroBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly handler: (inputs: I[]) => O[] | Promise<O[]>,
    private readonly options: MicroBatcherOptions,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  /** Resolves with the handler's output for this input. `deadline` is epoch ms (Infinity = none). */
  submit(input: I, deadline = Infinity): Promise<O> {
    if (this.closed) return Promise.reject(unavailable('server is shutting down'));
    if (this.queue.length >= this.options.maxQueue)
      return Promise.reject(resourceExhausted(`adaptation queue is full (${this.options.maxQueue} waiting)`));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, deadline, resolve, reject });
      this.schedule();
    });
  }

  /** Refuses new inputs and resolves once everything queued has been processed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
  }

  idle(): Promise<void> {
    if (!this.running && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.running) return;
    if (this.queue.length >= this.options.maxBatchSize) {
      this.clearTimer();
      // Defer so that a synchronous burst of submits lands in the batch first.
      setImmediate(() => void this.flush());
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.options.maxWaitMs);
    }
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async flush(): Promise<void> {
    this.clearTimer();
    if (this.running || this.queue.length === 0) return this.notifyIdle();
    this.running = true;
    const now = Date.now();
    const taken = this.queue.splice(0, this.options.maxBatchSize);
    const batch: Pending<I, O>[] = [];
    for (const p of taken) {
      if (p.deadline <= now) p.reject(deadlineExceeded('deadline passed while waiting for adaptation'));
      else batch.push(p);
    }
    if (batch.length > 0) {
      this.options.onBatch?.(batch.length);
      try {
        const outputs = await this.handler(batch.map((p) => p.input));
        if (outputs.length !== batch.length)
          throw new Error(`batch handler returned ${outputs.length} outputs for ${batch.length} inputs`);
        batch.forEach((p, i) => p.resolve(outputs[i] as O));
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    }
    this.running = false;
    // Inputs that arrived during the batch have already waited: run them right away.
    if (this.queue.length > 0) setImmediate(() => void this.flush());
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.running || this.queue.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
