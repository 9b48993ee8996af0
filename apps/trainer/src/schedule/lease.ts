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
  /** Called on each renewal (e.g. to heartbeat the run row too). */
  onRenew?: () => Promise<void>;
}

export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';
}

/**
 * Runs `job` while holding the named database lease, renewing it on a timer. If this process
 * dies the renewals stop and the lease expires after `ttlMs`, so a crashed run never blocks the
 * schedule for good. Throws LockHeldError when another live process holds it.
 */
export async function withLease<T>(
  store: LeaseStore,
  options: LeaseOptions,
  job: () => Promise<T>,
): Promise<T> {
  if (options.renewMs >= options.ttlMs)
    throw new RangeError('schedule.heartbeatSeconds must be below schedule.lockTtlSeconds');
  const owner = options.owner ?? `${process.pid}-${randomUUID()}`;
  const got = await store.acquireLock(options.name, options.ttlMs, owner);
  if (!got) throw new LockHeldError(`lock "${options.name}" is held by another run`);
  let renewing = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing
      .then(async () => {
        await store.acquireLock(options.name, options.ttlMs, owner);
        await options.onRenew?.();
      })
      .catch(() => undefined); // a missed renewal is retried on the next tick
  }, options.renewMs);
  timer.unref();
  try {
    return await job();
  } finally {
    clearInterval(timer);
    await renewing;
    await store.releaseLock(options.name, owner);
  }
}
