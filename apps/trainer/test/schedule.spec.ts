import { runScheduler } from '../src/schedule/scheduler';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFeatureStore } from '@warmstart/feature-store';
import { LeaseLostError, LockHeldError, withLease, type LeaseStore } from '../src/schedule/lease';
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

/** A job that works in small steps until its signal aborts (then throws the reason) or it is done. */
async function untilAborted(signal: AbortSignal, steps = 200): Promise<string> {
  for (let i = 0; i < steps; i++) {
    if (signal.aborted) throw signal.reason;
    await new Promise((r) => setTimeout(r, 5));
  }
  return 'finished without noticing';
}

describe('lease loss', () => {
  it('aborts the job when a renewal finds the lease taken by another owner', async () => {
    const leases = new MemoryLeases();
    let seen: AbortSignal | undefined;
    const job = withLease(leases, { name: 'train', ttlMs: 10_000, renewMs: 10, owner: 'a' }, (signal) => {
      seen = signal;
      // another process takes the lease over (as if ours had expired there)
      leases.rows.set('train', { owner: 'b', expiresAt: Date.now() + 60_000 });
      return untilAborted(signal);
    });
    await expect(job).rejects.toThrow(LeaseLostError);
    await expect(job).rejects.toThrow(/lost the "train" lease: another process holds it now/);
    expect(seen?.aborted).toBe(true);
    // the new holder keeps it: we never release someone else's lease
    expect(leases.rows.get('train')?.owner).toBe('b');
  });

  it('aborts the job when the lease expired before it could be renewed', async () => {
    const leases = new MemoryLeases();
    let clock = 1_000_000;
    const job = withLease(
      leases,
      { name: 'train', ttlMs: 1000, renewMs: 10, owner: 'a', now: () => clock },
      (signal) => {
        clock += 5000; // e.g. the process was stalled for longer than the TTL
        return untilAborted(signal);
      },
    );
    await expect(job).rejects.toThrow(/lost the "train" lease: it expired .* before it could be renewed/);
  });

  it('aborts the job when onRenew reports the run is no longer ours', async () => {
    const leases = new MemoryLeases();
    const job = withLease(
      leases,
      {
        name: 'train',
        ttlMs: 10_000,
        renewMs: 10,
        onRenew: async () => {
          throw new LeaseLostError('run r1 was marked failed by another process');
        },
      },
      (signal) => untilAborted(signal),
    );
    await expect(job).rejects.toThrow('run r1 was marked failed by another process');
  });

  it('keeps running while it renews its own lease (feature store), stops once another process takes it', async () => {
    const store = await openFeatureStore(join(mkdtempSync(join(tmpdir(), 'lease-')), 'w.db'));
    try {
      // Renewed every 50 ms, the 1.5 s lease outlives a job of more than twice its length. (A TTL
      // far above a renewal's interval: a test machine that stalls the event loop for longer than
      // the TTL rightly loses the lease; 200 ms did under a loaded CI run.)
      const options = { name: 'train', ttlMs: 1500, renewMs: 50, owner: 'me' };
      const started = Date.now();
      await expect(withLease(store.runs, options, (signal) => untilAborted(signal, 700))).resolves.toBe(
        'finished without noticing',
      );
      expect(Date.now() - started).toBeGreaterThan(2 * options.ttlMs);
      const lost = withLease(store.runs, options, async (signal) => {
        // simulate our lease running out and another process acquiring it
        await store.runs.releaseLock('train', 'me');
        expect(await store.runs.acquireLock('train', 60_000, 'other')).not.toBeNull();
        return untilAborted(signal);
      });
      await expect(lost).rejects.toThrow(/another process holds it now/);
      expect(await store.runs.acquireLock('train', 60_000, 'third')).toBeNull(); // still 'other's
    } finally {
      await store.close();
    }
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
