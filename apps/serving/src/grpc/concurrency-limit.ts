/**
 * How many calls the server works on at once. The call gate asks `tryAcquire()` for each call
 * before its body is read and `release()`s it with the call's latency once its status is sent;
 * a limit may use those latencies to move (`AdaptiveLimit`) or ignore them (`FixedLimit`).
 */
export abstract class ConcurrencyLimit {
  private calls = 0;

  /** Calls admitted at once now. */
  abstract readonly limit: number;

  /** Calls admitted and not yet released. */
  get inFlight(): number {
    return this.calls;
  }

  /** Admits a call when fewer than `limit` are in flight; false means refuse it. */
  tryAcquire(): boolean {
    if (this.calls >= this.limit) return false;
    this.calls += 1;
    this.admitted(this.calls);
    return true;
  }

  /** Ends an admitted call that took `latencyMs` from admission to its answer. */
  release(latencyMs: number): void {
    this.calls -= 1;
    this.completed(latencyMs);
  }

  /** A call was admitted; `inFlight` counts it. */
  protected admitted(_inFlight: number): void {}

  /** An admitted call was answered after `latencyMs`. */
  protected completed(_latencyMs: number): void {}
}

/** A limit that does not move (`--max-in-flight N`). */
export class FixedLimit extends ConcurrencyLimit {
  constructor(readonly limit: number) {
    super();
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`limit: must be a whole number >= 1, got ${limit}`);
  }
}
