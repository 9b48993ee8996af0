import { runScheduler } from '../src/schedule/scheduler';
import { LockHeldError, withLease, type LeaseStore } from '../src/schedule/lease';
import { createLogger } from '../src/util/logger';

/** An in-memory lease table with the feature store's semantics (free, expired or same owner). */
class MemoryLeases implements LeaseStore {
  rows = new Map<string, { owner: string; expiresAt: number }>();
  renewals = 0;
  async acquireLock(name: string, ttlMs: number, owner = 'x') {
    const row = this.rows.get(name);
    if (row && row.owner !== owner && row.expiresAt > Date.now()) return null;
    if (row?.owner === owner) this.renewals++;
    this.rows.set(name, { owner, expiresAt: Date.now() + ttlMs });
    return { owner, expiresAt: new Date(Date.now() + ttlMs) };
  }
  async releaseLock(name: string, owner: string) {
    if (this.rows.get(name)?.owner !== owner) return false;
    this.rows.delete(name);
    return true;
  }
}

describe('lease', () => {
  it('holds the lease during the job, renews it, and releases it even when the job fails', async () => {
    const leases = new MemoryLeases();
    const job = withLease(leases, { name: 'train', ttlMs: 1000, renewMs: 10, owner: 'a' }, async () => {
      await expect(
        withLease(leases, { name: 'train', ttlMs: 1000, renewMs: 10, owner: 'b' }, async () => 1),
      ).rejects.toBeInstanceOf(LockHeldError);
      await new Promise((r) => setTimeout(r, 50));
      throw new Error('job failed');
    });
    await expect(job).rejects.toThrow('job failed');
    expect(leases.renewals).toBeGreaterThan(0);
    expect(leases.rows.has('train')).toBe(false);
  });

  it('takes over a lease whose holder stopped renewing it', async () => {
    const leases = new MemoryLeases();
    await leases.acquireLock('train', 1, 'crashed');
    await new Promise((r) => setTimeout(r, 5));
    await expect(
      withLease(leases, { name: 'train', ttlMs: 1000, renewMs: 100, owner: 'b' }, async () => 'ran'),
    ).resolves.toBe('ran');
  });
});

describe('scheduler', () => {
  it('runs the job on the cron schedule, survives failing runs, and stops on abort', async () => {
    const controller = new AbortController();
    let runs = 0;
    const done = runScheduler({
      cron: '* * * * * *',
      logger: createLogger('silent'),
      signal: controller.signal,
      job: async () => {
        runs++;
        if (runs === 1) throw new Error('first run fails');
        if (runs >= 2) controller.abort();
      },
    });
    await done;
    expect(runs).toBeGreaterThanOrEqual(2);
  });

  it('rejects an invalid cron expression naming the flag', async () => {
    await expect(
      runScheduler({
        cron: 'every day',
        logger: createLogger('silent'),
        signal: new AbortController().signal,
        job: async () => 1,
      }),
    ).rejects.toThrow(/--cron: invalid expression "every day"/);
  });
});
