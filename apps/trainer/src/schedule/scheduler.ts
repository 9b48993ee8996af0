import { Cron } from 'croner';
import type { Logger } from '../util/logger';
import { LockHeldError } from './lease';
import { isCancellation } from '../util/interrupt';

export interface SchedulerOptions {
  cron: string;
  logger: Logger;
  /** One scheduled job: `train` under the lease. Errors are logged, never crash the scheduler. */
  job: () => Promise<unknown>;
  /** Stop when aborted (Ctrl-C): no new runs; a running one is cancelled through its own signal. */
  signal: AbortSignal;
}

/**
 * Runs `job` on a cron schedule until the signal aborts. `protect` skips a tick while the previous
 * job in this process still runs; the database lease makes that hold across processes too.
 */
export async function runScheduler(options: SchedulerOptions): Promise<void> {
  let cron: Cron;
  try {
    cron = new Cron(options.cron, { protect: true, catch: false }, async () => {
      const started = Date.now();
      try {
        await options.job();
        options.logger.info({ seconds: (Date.now() - started) / 1000 }, 'scheduled run finished');
      } catch (err) {
        if (err instanceof LockHeldError) options.logger.warn(err.message + '; skipping this tick');
        // Ctrl-C/SIGTERM mid-run: `train` recorded the run cancelled; it is not a failure.
        else if (isCancellation(err))
          options.logger.warn({ err: (err as Error).message }, 'scheduled run cancelled (recorded in runs)');
        else options.logger.error({ err: (err as Error).message }, 'scheduled run failed (recorded in runs)');
      }
    });
  } catch (err) {
    throw new Error(`--cron: invalid expression "${options.cron}": ${(err as Error).message}`);
  }
  options.logger.info({ cron: options.cron, next: cron.nextRun()?.toISOString() }, 'scheduler started');
  await new Promise<void>((resolve) => {
    if (options.signal.aborted) return resolve();
    options.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  cron.stop();
  // wait for a job in flight to wind down (it sees the same signal)
  while (cron.isBusy()) await new Promise((r) => setTimeout(r, 100));
  options.logger.info('scheduler stopped');
}
