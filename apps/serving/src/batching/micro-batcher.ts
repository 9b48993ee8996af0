import { Cancelled, DeadlinePassed, Overloaded, ShuttingDown } from '../domain/errors';

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
  signal: AbortSignal | undefined;
  resolve: (value: O) => void;
  reject: (reason: unknown) => void;
}

/** Weight of the latest batch in the running estimate of a batch's duration. */
const BATCH_MS_WEIGHT = 0.2;

/**
 * Groups concurrent inputs into batches so that one batched computation serves many callers:
 * a batch is flushed when it is full or when its first input has waited `maxWaitMs`. Batches
 * run one at a time; inputs arriving meanwhile form the next batch, so batch size grows with load.
 *
 * Work is spent only on calls that can still use it: an input whose call was cancelled (its
 * `signal` aborted: the client gave up or its deadline passed) leaves the queue at once, an input
 * whose deadline has passed is dropped when its batch is formed, and an input whose remaining
 * deadline is shorter than the expected wait (queued batches ahead x the running mean batch
 * time) is refused on arrival. A full queue first sheds such dead inputs before refusing a live one.
 */
export class MicroBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  /** Running mean duration of a batch (ms); undefined until the first batch ran. */
  private batchMs: number | undefined;

  constructor(
    private readonly handler: (inputs: I[]) => O[] | Promise<O[]>,
    private readonly options: MicroBatcherOptions,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  /**
   * Resolves with the handler's output for this input. `deadline` is epoch ms (Infinity = none);
   * an aborted `signal` withdraws the input (CANCELLED) if its batch has not started.
   */
  submit(input: I, deadline = Infinity, signal?: AbortSignal): Promise<O> {
    if (this.closed) return Promise.reject(new ShuttingDown('server is shutting down'));
    if (signal?.aborted) return Promise.reject(new Cancelled('call cancelled before adaptation'));
    const now = Date.now();
    if (deadline <= now) return Promise.reject(new DeadlinePassed('deadline passed before adaptation'));
    const expected = this.expectedWaitMs();
    if (expected !== undefined && deadline - now < expected)
      return Promise.reject(
        new DeadlinePassed(
          `the call's deadline leaves ${deadline - now} ms; the adaptation queue needs about ${Math.ceil(expected)} ms`,
        ),
      );
    if (this.queue.length >= this.options.maxQueue) this.dropDead(now);
    if (this.queue.length >= this.options.maxQueue)
      return Promise.reject(new Overloaded(`adaptation queue is full (${this.options.maxQueue} waiting)`));
    return new Promise<O>((resolve, reject) => {
      const pending: Pending<I, O> = { input, deadline, signal, resolve, reject };
      if (signal) {
        const onAbort = () => {
          const at = this.queue.indexOf(pending);
          if (at < 0) return; // already in a running batch: its result is simply not used
          this.queue.splice(at, 1);
          reject(abandoned(pending, Date.now()));
          this.notifyIdle();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const done = () => signal.removeEventListener('abort', onAbort);
        pending.resolve = (v) => {
          done();
          resolve(v);
        };
        pending.reject = (e) => {
          done();
          reject(e);
        };
      }
      this.queue.push(pending);
      this.schedule();
    });
  }

  /** How long a new input would wait before its batch ends (undefined before the first batch). */
  private expectedWaitMs(): number | undefined {
    if (this.batchMs === undefined) return undefined;
    const batchesAhead = Math.floor(this.queue.length / this.options.maxBatchSize) + (this.running ? 1 : 0);
    return (batchesAhead + 1) * this.batchMs;
  }

  /** Rejects and removes queued inputs whose deadline has passed or whose call was cancelled. */
  private dropDead(now: number): void {
    const live: Pending<I, O>[] = [];
    for (const p of this.queue) {
      if (p.signal?.aborted || p.deadline <= now) p.reject(abandoned(p, now));
      else live.push(p);
    }
    this.queue = live;
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
    const batch: Pending<I, O>[] = [];
    while (batch.length < this.options.maxBatchSize && this.queue.length > 0) {
      const p = this.queue.shift() as Pending<I, O>;
      if (p.signal?.aborted || p.deadline <= now) p.reject(abandoned(p, now));
      else batch.push(p);
    }
    if (batch.length > 0) {
      this.options.onBatch?.(batch.length);
      const started = performance.now();
      try {
        const outputs = await this.handler(batch.map((p) => p.input));
        if (outputs.length !== batch.length)
          throw new Error(`batch handler returned ${outputs.length} outputs for ${batch.length} inputs`);
        batch.forEach((p, i) => p.resolve(outputs[i] as O));
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
      const ms = performance.now() - started;
      this.batchMs = this.batchMs === undefined ? ms : this.batchMs + BATCH_MS_WEIGHT * (ms - this.batchMs);
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

/** Why a queued input is dropped: its deadline (grpc-js aborts the call when it passes) or a cancel. */
function abandoned(p: { deadline: number }, now: number) {
  // grpc-js's deadline timer may fire a millisecond before Date.now() reaches the deadline.
  return p.deadline <= now + 5
    ? new DeadlinePassed('deadline passed while waiting for adaptation')
    : new Cancelled('call cancelled while waiting for adaptation');
}
