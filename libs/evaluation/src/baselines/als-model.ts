import type { Rng } from '../util/rng';
import { addOuter, choleskyFactorInPlace, choleskySolveInPlace, choleskySubstitute, gram } from './dense';
import { gaussianArray } from './gaussian';
import type { InteractionIndex } from './interaction-index';

/** Implicit ALS hyper-parameters (Hu, Koren & Volinsky 2008, uniform confidence 1 + alpha). */
export interface AlsParams {
  factors: number;
  /** L2 penalty on every user and item vector. */
  reg: number;
  /** Confidence of an observed interaction is 1 + alpha; unobserved pairs are 0 with confidence 1. */
  alpha: number;
  iterations: number;
  /** Conjugate-gradient steps per vector update (Takacs, Pilaszy & Tikk 2011). */
  cgSteps: number;
}

/** User and item factors, row-major (users x factors, items x factors). */
export interface AlsFactors {
  users: Float32Array;
  items: Float32Array;
}

/**
 * Trains implicit ALS on every (user, item) pair of `index`: alternately, each user's vector (then
 * each item's) minimises sum c (p - x.y)^2 + reg |x|^2 given the other side (see `sweep`).
 */
export function trainAls(
  index: InteractionIndex,
  p: AlsParams,
  rng: Rng,
  checkAbort?: () => void,
): AlsFactors {
  const f = p.factors;
  // Float64 throughout training: one array type keeps V8's inner loops monomorphic.
  const users = Float64Array.from(gaussianArray(index.users * f, 0.01, rng));
  const items = Float64Array.from(gaussianArray(index.items * f, 0.01, rng));
  for (let it = 0; it < p.iterations; it++) {
    checkAbort?.();
    sweep(users, items, index.users, index.items, index.rowPtr, index.rowItems, p);
    sweep(items, users, index.items, index.users, index.colPtr, index.colUsers, p);
  }
  return { users: Float32Array.from(users), items: Float32Array.from(items) };
}

/**
 * Updates every row vector of `x` against the fixed `y` (row u of x interacts with y rows
 * idx[ptr[u]..ptr[u+1]-1]). A row with few interactions (most items) is solved exactly through
 * the Woodbury identity, (B + alpha U U^T)^-1 = B^-1 - B^-1 U (I / alpha + U^T B^-1 U)^-1 U^T B^-1
 * with B = YtY + reg I shared by all rows, in O(n^2 f + n^3); a row with many takes conjugate-
 * gradient steps from its previous value in O((f + n) f) per step, whichever is cheaper.
 */
function sweep(
  x: Float64Array,
  y: Float64Array,
  nx: number,
  ny: number,
  ptr: Int32Array,
  idx: Int32Array,
  p: AlsParams,
): void {
  const f = p.factors;
  const alpha = p.alpha;
  const yty = gram(y, ny, f, p.reg);
  // z_j = B^-1 y_j, computed the first time a Woodbury solve needs fixed row j.
  const z = new Float64Array(ny * f);
  const zReady = new Uint8Array(ny);
  const factor = choleskyFactorInPlace(yty.slice(), f);
  const ensureZ = (j: number) => {
    if (zReady[j]) return;
    zReady[j] = 1;
    const zj = z.subarray(j * f, (j + 1) * f);
    for (let k = 0; k < f; k++) zj[k] = y[j * f + k];
    choleskySubstitute(factor, zj, f);
  };
  const cgCost = (p.cgSteps + 1) * f * f;
  const xu = new Float64Array(f);
  const r = new Float64Array(f);
  const dir = new Float64Array(f);
  const ap = new Float64Array(f);
  let small = new Float64Array(0);
  let w = new Float64Array(0);
  for (let u = 0; u < nx; u++) {
    const o = u * f;
    const start = ptr[u];
    const n = ptr[u + 1] - start;
    if (n * n * f + (n * n * n) / 3 <= cgCost + 2 * (p.cgSteps + 1) * n * f) {
      // Exact: x = g - sum_a w_a z_a, g = B^-1 b = (1 + alpha) sum z, (I / alpha + U^T Z_U) w = U^T g.
      if (small.length < n * n) {
        small = new Float64Array(n * n);
        w = new Float64Array(n);
      }
      xu.fill(0);
      for (let e = start; e < start + n; e++) {
        ensureZ(idx[e]);
        const zo = idx[e] * f;
        for (let k = 0; k < f; k++) xu[k] += (1 + alpha) * z[zo + k];
      }
      for (let a = 0; a < n; a++) {
        const ya = idx[start + a] * f;
        let c = 0;
        for (let k = 0; k < f; k++) c += y[ya + k] * xu[k];
        w[a] = c;
        for (let b = 0; b <= a; b++) {
          const zb = idx[start + b] * f;
          let d = 0;
          for (let k = 0; k < f; k++) d += y[ya + k] * z[zb + k];
          small[a * n + b] = d;
          small[b * n + a] = d;
        }
        small[a * n + a] += 1 / alpha;
      }
      const m = small.subarray(0, n * n);
      const sol = w.subarray(0, n);
      choleskyFactorInPlace(m, n);
      choleskySubstitute(m, sol, n);
      for (let a = 0; a < n; a++) {
        const zo = idx[start + a] * f;
        const wa = sol[a];
        for (let k = 0; k < f; k++) xu[k] -= wa * z[zo + k];
      }
      for (let k = 0; k < f; k++) x[o + k] = xu[k];
      continue;
    }
    for (let k = 0; k < f; k++) xu[k] = x[o + k];
    // r = b - A x, with A = YtY + reg I + alpha sum y y^T and b = (1 + alpha) sum y.
    symv(yty, xu, r, f, -1);
    for (let e = start; e < start + n; e++) {
      const yo = idx[e] * f;
      let d = 0;
      for (let k = 0; k < f; k++) d += y[yo + k] * xu[k];
      const c = 1 + alpha - alpha * d;
      for (let k = 0; k < f; k++) r[k] += c * y[yo + k];
    }
    dir.set(r);
    let rs = 0;
    for (let k = 0; k < f; k++) rs += r[k] * r[k];
    for (let step = 0; step < p.cgSteps && rs > 1e-20; step++) {
      symv(yty, dir, ap, f, 1);
      for (let e = start; e < start + n; e++) {
        const yo = idx[e] * f;
        let d = 0;
        for (let k = 0; k < f; k++) d += y[yo + k] * dir[k];
        const c = alpha * d;
        for (let k = 0; k < f; k++) ap[k] += c * y[yo + k];
      }
      let pap = 0;
      for (let k = 0; k < f; k++) pap += dir[k] * ap[k];
      const a = rs / pap;
      let next = 0;
      for (let k = 0; k < f; k++) {
        xu[k] += a * dir[k];
        r[k] -= a * ap[k];
        next += r[k] * r[k];
      }
      const beta = next / rs;
      for (let k = 0; k < f; k++) dir[k] = r[k] + beta * dir[k];
      rs = next;
    }
    for (let k = 0; k < f; k++) x[o + k] = xu[k];
  }
}

/** out = sign * M v for a dense n x n M. */
function symv(m: Float64Array, v: Float64Array, out: Float64Array, n: number, sign: number): void {
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let s = 0;
    for (let j = 0; j < n; j++) s += m[row + j] * v[j];
    out[i] = sign * s;
  }
}

/**
 * The exact ALS solve of one vector against `n` fixed vectors (row-major in `vectors`), each an
 * observed interaction: (YtY + reg I + alpha sum y y^T) x = (1 + alpha) sum y + reg * prior.
 * `ytyReg` is YtY + reg I over every row of the fixed side (the unobserved pairs count as zeros
 * with confidence 1). Folds a new user in from its support items' vectors, or a new item in from
 * its evidence users' vectors (then `prior`, its content prediction, is what the penalty shrinks
 * toward).
 */
export function alsFoldIn(
  ytyReg: Float64Array,
  vectors: ArrayLike<number>,
  n: number,
  f: number,
  p: Pick<AlsParams, 'alpha' | 'reg'>,
  prior?: ArrayLike<number>,
): Float64Array {
  const a = ytyReg.slice();
  const b = new Float64Array(f);
  for (let row = 0; row < n; row++) {
    addOuter(a, vectors, row * f, f, p.alpha);
    for (let k = 0; k < f; k++) b[k] += (1 + p.alpha) * vectors[row * f + k];
  }
  if (prior) for (let k = 0; k < f; k++) b[k] += p.reg * prior[k];
  return choleskySolveInPlace(a, b, f);
}
