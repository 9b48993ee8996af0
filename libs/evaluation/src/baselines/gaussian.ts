import type { Rng } from '../util/rng';

/** `n` draws from N(0, scale^2) (Box-Muller on a seeded generator), for factor initialisation. */
export function gaussianArray(n: number, scale: number, rng: Rng): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u = 1 - rng();
    const v = rng();
    const r = scale * Math.sqrt(-2 * Math.log(u));
    out[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  return out;
}
