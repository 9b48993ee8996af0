import { ConcurrencyLimit } from './concurrency-limit';

export interface AdaptiveLimitOptions {
  /** Latency (ms) that the `percentile` of admitted calls is held under. */
  targetMs: number;
  /** Bounds of the limit (default 4 and 512). */
  min?: number;
  max?: number;
  /** The limit before any latency was seen (default 32). */
  initial?: number;
  /** Which latency of a window is compared with the target (default 0.9: its p90). */
  percentile?: number;
  /** A window closes after this long (ms, default 100) once it holds `minSamples` calls (default 10). */
  windowMs?: number;
  minSamples?: number;
  /** Factor applied to the limit after a window above the target (default 0.9). */
  backoff?: number;
  /** Milliseconds clock (default `performance.now`); tests inject their own. */
  now?: () => number;
  /**
   * How long calls waited before they reached the gate during the window just closed (ms; read
   * once per window), added to the window's latency: calls queue in the event loop before
   * admission when the process is saturated, which latencies measured from admission miss. The
   * server passes the event loop's lag (`monitorEventLoopDelay`).
   */
  queueDelayMs?: () => number;
}

/** Most latencies a window keeps: a busier window closes early instead of growing. */
const MAX_WINDOW_SAMPLES = 4096;
/** Weight of the newest window in the smoothed throughput. */
const RATE_SMOOTHING = 0.3;
/** Decreases that leave throughput under this share of the anchor's are undone. */
const KEPT_RATE = 0.8;
/** Windows without a decrease after one was undone, so the smoothed throughput recovers. */
const HOLD_WINDOWS = 5;

/**
 * A concurrency limit that follows the latency of the calls it admits, by additive increase and
 * multiplicative decrease (AIMD), as Netflix's concurrency-limits does (`AIMDLimit` behind a
 * `WindowedLimit` with a percentile sample window; github.com/Netflix/concurrency-limits), with a
 * latency target instead of a timeout as the congestion signal. Latencies of admitted calls are
 * gathered in windows (at least `windowMs` long and `minSamples` calls); when a window closes:
 *
 * - its `percentile` latency at or under `targetMs`, and the calls in flight reached the limit
 *   during the window (callers were, or were about to be, refused): the limit grows by its square
 *   root (the headroom Envoy's adaptive concurrency filter adds; 32 reaches 64 in six windows).
 *   A limit nobody reaches stays where it is, so it tracks the load instead of drifting up;
 * - above the target: the limit is multiplied by `backoff`, as long as that keeps throughput.
 *   Shrinking helps when calls queue for the CPU (latency ~ calls in flight x cost): throughput
 *   stays and latency falls. It does not when latency is high at any concurrency (a machine busy
 *   with other work) or grows as calls are refused (micro-batched adaptation: smaller batches cost
 *   more per call): throughput falls with the limit. So the limit before a run of decreases is
 *   kept with its (smoothed) throughput; once throughput falls under `KEPT_RATE` of it, the limit
 *   goes back there and holds for `HOLD_WINDOWS` windows before trying again, rather than
 *   sinking to `min` and refusing calls the server would have answered as fast.
 *
 * Calls that queue settle near `target / cost`; batched calls whose latency stays under the target
 * keep the limit just above their callers. The limit stays within [`min`, `max`].
 */
export class AdaptiveLimit extends ConcurrencyLimit {
  private readonly targetMs: number;
  private readonly min: number;
  private readonly max: number;
  private readonly percentile: number;
  private readonly windowMs: number;
  private readonly minSamples: number;
  private readonly backoff: number;
  private readonly now: () => number;
  private readonly queueDelayMs: (() => number) | undefined;
  /** The limit before rounding down: repeated backoffs decay smoothly. */
  private estimate: number;
  private readonly window = new Float64Array(MAX_WINDOW_SAMPLES);
  private samples = 0;
  private windowStart: number;
  /** Most calls in flight at an admission during the window. */
  private peak = 0;
  /** Calls answered per second, smoothed over windows. */
  private rate = 0;
  /** The limit before the latest run of decreases that kept throughput, and its throughput. */
  private anchor: { limit: number; rate: number } | undefined;
  /** Windows left, after a decrease was undone, before the next one (the throughput settles). */
  private hold = 0;

  constructor(options: AdaptiveLimitOptions) {
    super();
    this.targetMs = options.targetMs;
    this.min = options.min ?? 4;
    this.max = options.max ?? 512;
    this.percentile = options.percentile ?? 0.9;
    this.windowMs = options.windowMs ?? 100;
    this.minSamples = options.minSamples ?? 10;
    this.backoff = options.backoff ?? 0.9;
    this.now = options.now ?? (() => performance.now());
    this.queueDelayMs = options.queueDelayMs;
    const positive = (name: string, v: number) => {
      if (!(Number.isFinite(v) && v > 0)) throw new Error(`${name}: must be a positive number, got ${v}`);
    };
    positive('targetMs', this.targetMs);
    positive('min', this.min);
    if (!(this.max >= this.min)) throw new Error(`max: must be >= min (${this.min}), got ${this.max}`);
    if (!(this.percentile > 0 && this.percentile <= 1))
      throw new Error(`percentile: must be in (0, 1], got ${this.percentile}`);
    if (!(this.backoff > 0 && this.backoff < 1))
      throw new Error(`backoff: must be in (0, 1), got ${this.backoff}`);
    this.estimate = this.clamp(options.initial ?? 32);
    this.windowStart = this.now();
  }

  get limit(): number {
    return Math.floor(this.estimate);
  }

  protected override admitted(inFlight: number): void {
    if (inFlight > this.peak) this.peak = inFlight;
  }

  protected override completed(latencyMs: number): void {
    this.window[this.samples++] = latencyMs;
    const full = this.samples === MAX_WINDOW_SAMPLES;
    if (full || (this.samples >= this.minSamples && this.now() - this.windowStart >= this.windowMs))
      this.closeWindow();
  }

  private closeWindow(): void {
    const now = this.now();
    const sorted = this.window.subarray(0, this.samples).sort();
    // Nearest rank: the p90 of 20 calls is the 18th fastest.
    const observed =
      (sorted[Math.ceil(this.percentile * this.samples) - 1] as number) + (this.queueDelayMs?.() ?? 0);
    const windowRate = (this.samples * 1000) / Math.max(1, now - this.windowStart);
    this.rate = this.rate === 0 ? windowRate : (1 - RATE_SMOOTHING) * this.rate + RATE_SMOOTHING * windowRate;
    if (this.hold > 0) this.hold -= 1;
    if (observed <= this.targetMs) {
      this.anchor = undefined;
      if (this.peak >= this.limit) this.estimate = this.clamp(this.estimate + Math.sqrt(this.estimate));
    } else if (this.anchor && this.limit < this.anchor.limit && this.rate < KEPT_RATE * this.anchor.rate) {
      // Shrinking cost throughput without the latency being queueing: back to where it was.
      this.estimate = this.anchor.limit;
      this.anchor = undefined;
      this.hold = HOLD_WINDOWS;
    } else if (this.hold === 0) {
      this.anchor ??= { limit: this.limit, rate: this.rate };
      this.estimate = this.clamp(this.estimate * this.backoff);
    }
    this.samples = 0;
    this.peak = this.inFlight;
    this.windowStart = now;
  }

  private clamp(v: number): number {
    return Math.min(this.max, Math.max(this.min, v));
  }
}
