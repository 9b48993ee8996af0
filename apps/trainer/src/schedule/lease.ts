import { randomUUID } from 'node:crypto';

/** The part of the feature store's run API a lease needs (store.runs). */
export interface LeaseStore {
  acquireLock(
    name: string,
    ttlMs: number,
    owner?: string,
  ): Promise<{ owner: string; expiresAt: Date } | null>;
  releaseLock(name: string, owner: string): Promise<boolean>;
}

export interface LeaseOptions {
  name: string;
  ttlMs: number;
  /** Renew this often; must be well under ttlMs so a live run never loses its lease. */
  renewMs: number;
  owner?: string;
  /**
   * Called after each successful renewal (e.g. to heartbeat the run row too). Throwing a
   * LeaseLostError stops the job like a lost lease; other errors are retried on the next tick.
   */
  onRenew?: () => Promise<void>;
  /** Clock for the expiry check (tests). */
  now?: () => number;
}

export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
}

/** The lease was taken by another process or expired before it was renewed: the job must stop. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/**
 * Runs `job` while holding the named database lease, renewing it on a timer. If this process
 * dies the renewals stop and the lease expires after `ttlMs`, so a crashed run never blocks the
 * schedule for good. Throws LockHeldError when another live process holds it.
 *
 * If a renewal finds the lease held by someone else, or comes after the lease already expired
 * (another process may have taken it meanwhile), the signal passed to `job` aborts with a
 * LeaseLostError: the job must stop at its next safe point instead of running concurrently with
 * the new holder.
 */
export async function withLease<T>(
  store: LeaseStore,
  options: LeaseOptions,
  job: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (options.renewMs >= options.ttlMs)
    throw new RangeError('schedule.heartbeatSeconds must be below schedule.lockTtlSeconds');
  const now = options.now ?? Date.now;
  const owner = options.owner ?? `${process.pid}-${randomUUID()}`;
  // Measured before the call: the lease certainly lasts until then.
  let validUntil = now() + options.ttlMs;
  const got = await store.acquireLock(options.name, options.ttlMs, owner);
  if (!got) throw new LockHeldError(`lock "${options.name}" is held by another run`);
  const lost = new AbortController();
  const lose = (reason: string) => {
    if (!lost.signal.aborted) lost.abort(new LeaseLostError(`lost the "${options.name}" lease: ${reason}`));
  };
  let renewing = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing
      .then(async () => {
        if (lost.signal.aborted) return;
        const attempt = now();
        if (attempt > validUntil) {
          lose(
            `it expired ${((attempt - validUntil) / 1000).toFixed(1)} s before it could be renewed ` +
              `(lockTtlSeconds ${options.ttlMs / 1000}); another process may hold it now`,
          );
          return;
        }
        const renewed = await store.acquireLock(options.name, options.ttlMs, owner);
        if (!renewed) {
          lose('another process holds it now');
          return;
        }
        validUntil = attempt + options.ttlMs;
        await options.onRenew?.();
      })
      .catch((err) => {
        if (err instanceof LeaseLostError && !lost.signal.aborted) lost.abort(err);
        // any other failure: a missed renewal, retried on the next tick (until the lease expires)
      });
  }, options.renewMs);
  timer.unref();
  try {
    return await job(lost.signal);
  } finally {
    clearInterval(timer);
    await renewing;
    await store.releaseLock(options.name, owner);
  }
}
