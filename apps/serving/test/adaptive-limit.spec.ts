import { AdaptiveLimit } from '../src/grpc/adaptive-limit';
import { FixedLimit } from '../src/grpc/concurrency-limit';

/** Latency of a window's call, from how many were admitted and which one it is. */
type PerCall = (admitted: number, i: number) => number;

/** An adaptive limit (target 50 ms) on a clock the test moves: windows of 100 ms and 10 calls. */
function limiter(options: { initial?: number; min?: number; max?: number } = {}) {
  let clock = 0;
  const limit = new AdaptiveLimit({
    targetMs: 50,
    windowMs: 100,
    minSamples: 10,
    now: () => clock,
    ...options,
  });
  /**
   * One window: `calls` callers arrive together and as many as the limit lets in are admitted;
   * the i-th of them is answered after `latency(admitted, i)` ms, the last one 100 ms after the
   * window opened, which closes it (so throughput follows the limit).
   */
  const window = (calls: number, latency: PerCall) => {
    let admitted = 0;
    while (admitted < calls && limit.tryAcquire()) admitted += 1;
    for (let i = 0; i < admitted; i++) {
      if (i === admitted - 1) clock += 100;
      limit.release(latency(admitted, i));
    }
    return admitted;
  };
  /**
   * A server that works on one call at a time, `costMs` each, first come first served, for
   * `ms`, with more callers than the limit: a call waits for all those admitted before it, and
   * throughput is 1 / cost whatever the limit. The calls still in flight are then answered.
   */
  const queueing = (costMs: number, ms: number) => {
    for (let t = 0; t < ms; t += costMs) {
      while (limit.tryAcquire());
      clock += costMs;
      limit.release(limit.inFlight * costMs);
    }
    while (limit.inFlight > 0) limit.release(costMs);
  };
  /** The limit after each of `windows` runs of `step`. */
  const limits = (windows: number, step: () => void) =>
    Array.from({ length: windows }, () => {
      step();
      return limit.limit;
    });
  return { limit, window, queueing, limits };
}

describe('AdaptiveLimit', () => {
  it('refuses calls beyond its limit and admits again once one is released', () => {
    const { limit } = limiter({ initial: 4 });
    for (let i = 0; i < 4; i++) expect(limit.tryAcquire()).toBe(true);
    expect(limit.tryAcquire()).toBe(false);
    expect(limit.inFlight).toBe(4);
    limit.release(5);
    expect(limit.inFlight).toBe(3);
    expect(limit.tryAcquire()).toBe(true);
    expect(limit.tryAcquire()).toBe(false);
  });

  it('grows by its square root per window while the p90 is under the target and callers fill the limit', () => {
    const { window, limits } = limiter({ initial: 16 });
    const seen = limits(4, () => window(1000, () => 20));
    // 16 + 4 = 20, 20 + 4.47 = 24.47, 24.47 + 4.95 = 29.42, 29.42 + 5.42 = 34.84
    expect(seen).toEqual([20, 24, 29, 34]);
  });

  it('does not grow while nobody reaches the limit', () => {
    const { limit, window } = limiter({ initial: 32 });
    for (let w = 0; w < 10; w++) window(20, () => 5);
    expect(limit.limit).toBe(32);
  });

  it('shrinks by the backoff factor per window whose p90 is above the target, whatever the p50', () => {
    const { limit, window } = limiter({ initial: 100 });
    // 20 calls: 17 fast, 3 slow, so the p90 (the 18th fastest) is slow.
    const threeSlow = (_: number, i: number) => (i < 17 ? 5 : 80);
    window(20, threeSlow);
    expect(limit.limit).toBe(90);
    window(20, threeSlow);
    expect(limit.limit).toBe(81);
    // Two slow calls of 20 leave the p90 fast: the limit holds (20 calls do not fill 81).
    window(20, (_, i) => (i < 18 ? 5 : 80));
    expect(limit.limit).toBe(81);
  });

  it('adds the wait in front of the gate (queueDelayMs, read once per window) to what it compares with the target', () => {
    let clock = 0;
    const reads: number[] = [];
    let queued = 0;
    const limit = new AdaptiveLimit({
      targetMs: 50,
      initial: 20,
      now: () => clock,
      queueDelayMs: () => {
        reads.push(queued);
        return queued;
      },
    });
    const window = () => {
      for (let i = 0; i < 20; i++) limit.tryAcquire();
      clock += 100;
      for (let i = 0; i < 20; i++) limit.release(30);
    };
    // 30 ms in the server and nothing queued: under the target, callers fill the limit: it grows.
    window();
    expect(limit.limit).toBe(24); // 20 + sqrt(20) = 24.47
    // The same 30 ms, but calls waited 40 ms before the gate saw them: 70 ms, above the target.
    queued = 40;
    window();
    expect(limit.limit).toBe(22); // 24.47 x 0.9
    expect(reads).toEqual([0, 40]);
  });

  it('closes a window only after its time and its minimum of calls', () => {
    let clock = 0;
    const slowCall = (limit: AdaptiveLimit) => {
      limit.tryAcquire();
      limit.release(500);
    };
    const timed = new AdaptiveLimit({ targetMs: 50, initial: 20, now: () => clock });
    for (let i = 0; i < 30; i++) slowCall(timed);
    expect(timed.limit).toBe(20); // 30 calls, but the window is not 100 ms old yet
    clock += 100;
    slowCall(timed);
    expect(timed.limit).toBe(18);
    const counted = new AdaptiveLimit({ targetMs: 50, initial: 20, now: () => clock });
    clock += 1000;
    for (let i = 0; i < 9; i++) slowCall(counted);
    expect(counted.limit).toBe(20); // 9 calls: too few to judge
    slowCall(counted);
    expect(counted.limit).toBe(18);
  });

  it('stays within its bounds', () => {
    const { limit, window, queueing } = limiter({ initial: 8, min: 4, max: 12 });
    // 100 ms of work per call: above the target even at the minimum.
    queueing(100, 60_000);
    expect(limit.limit).toBe(4);
    for (let w = 0; w < 50; w++) window(1000, () => 1);
    expect(limit.limit).toBe(12);
    expect(window(1000, () => 1)).toBe(12);
  });

  it('settles where calls that queue for the CPU meet the target, and above the callers when they do not', () => {
    // Queueing calls: 5 ms of work each, one at a time. The target (50 ms) is met at 10 in flight.
    const cpu = limiter({ initial: 32 });
    const settled = cpu.limits(200, () => cpu.queueing(5, 100)).slice(100);
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(8);
    expect(Math.max(...settled)).toBeLessThanOrEqual(14);
    // Batched calls: latency grows slowly with the callers (26 ms at 64): all 64 callers admitted.
    const batched = limiter({ initial: 32 });
    for (let w = 0; w < 60; w++) batched.window(64, (n) => 10 + n / 4);
    expect(batched.limit.limit).toBe(65);
    expect(batched.window(64, (n) => 10 + n / 4)).toBe(64);
  });

  it('undoes decreases that cost throughput without buying latency, instead of sinking to the minimum', () => {
    // 80 ms at any concurrency (a busy machine, or batches that get dearer per call as they
    // shrink): fewer calls only means fewer answers.
    const { window, limits } = limiter({ initial: 64 });
    const settled = limits(200, () => window(64, () => 80)).slice(50);
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(32);
    expect(Math.max(...settled)).toBe(64);
    // Throughput follows the limit here: on average it stayed above 80% of the full one.
    const mean = settled.reduce((a, b) => a + b, 0) / settled.length;
    expect(mean).toBeGreaterThan(0.8 * 64);
  });

  it('rejects options that make no sense, naming them', () => {
    expect(() => new AdaptiveLimit({ targetMs: 0 })).toThrow(/targetMs/);
    expect(() => new AdaptiveLimit({ targetMs: 50, min: 10, max: 5 })).toThrow(/max: must be >= min/);
    expect(() => new AdaptiveLimit({ targetMs: 50, backoff: 1 })).toThrow(/backoff/);
    expect(() => new AdaptiveLimit({ targetMs: 50, percentile: 0 })).toThrow(/percentile/);
  });
});

describe('FixedLimit', () => {
  it('admits up to its limit whatever the latency', () => {
    const limit = new FixedLimit(2);
    expect([limit.tryAcquire(), limit.tryAcquire(), limit.tryAcquire()]).toEqual([true, true, false]);
    for (let i = 0; i < 100; i++) {
      limit.release(10_000);
      expect(limit.tryAcquire()).toBe(true);
    }
    expect(limit.limit).toBe(2);
    expect(() => new FixedLimit(0)).toThrow(/limit/);
  });
});
