import { CancelledError } from '@warmstart/evaluation';

// The cancellation primitives are the evaluation library's, so an evaluation stopped inside the
// library and a trainer job share one CancelledError; trainer code imports them from here.
export { CancelledError, isCancellation, stopError, throwIfAborted } from '@warmstart/evaluation';
import { terminal } from './terminal';

/**
 * Under `npm run trainer` in a terminal one Ctrl-C arrives twice: the terminal signals the whole
 * foreground process group and npm forwards its own copy. Signals this close to the first count
 * as the same press.
 */
export const SAME_PRESS_MS = 500;

/**
 * Turns Ctrl-C / SIGTERM into an AbortSignal so long jobs stop at a safe point (no half-written
 * artifact, run marked cancelled). A second Ctrl-C (later than SAME_PRESS_MS) exits at once.
 */
export async function withInterrupt<T>(job: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let count = 0;
  let firstAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (count > 0 && Date.now() - firstAt < SAME_PRESS_MS) return;
    count++;
    if (count > 1) process.exit(130);
    firstAt = Date.now();
    // Through the terminal: above the progress bars while they are drawn.
    terminal.write(
      `${terminal.drawing ? '' : '\n'}${sig}: stopping at the next safe point (again to force)\n`,
    );
    controller.abort(new CancelledError(`interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await job(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
