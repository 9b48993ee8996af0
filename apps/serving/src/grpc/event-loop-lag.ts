import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/** Sampling interval of the lag monitor (ms): its readings include it, so it is subtracted. */
const RESOLUTION_MS = 5;

/**
 * The event loop's lag: how late a timer due every RESOLUTION_MS fires. A saturated process
 * delays every callback by about this much, including the reading of a call that has not reached
 * the call gate yet, so it measures the queue in front of admission (see AdaptiveLimit
 * `queueDelayMs`).
 */
export class EventLoopLag {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });

  constructor() {
    this.histogram.enable();
  }

  /** The `percentile` (0-100) lag in ms since the last read; starts a new reading. */
  read(percentile = 90): number {
    const h = this.histogram;
    const lag = h.count > 0 ? Math.max(0, h.percentile(percentile) / 1e6 - RESOLUTION_MS) : 0;
    h.reset();
    return lag;
  }

  stop(): void {
    this.histogram.disable();
  }
}
