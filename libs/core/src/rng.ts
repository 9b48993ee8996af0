import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

/** Seeded pseudo-random numbers (pure-rand xoroshiro128+): same seed, same sequence on every platform. */
export class Rng {
  private readonly gen: RandomGenerator;

  constructor(seed: number) {
    this.gen = xoroshiro128plus(seed | 0);
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return unsafeUniformIntDistribution(0, 0x7fffffff, this.gen) / 0x80000000;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return unsafeUniformIntDistribution(0, n - 1, this.gen);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
}
