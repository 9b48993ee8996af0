import type { Rng } from '../util/rng';
import { choleskySolveInPlace } from './dense';
import { gaussianArray } from './gaussian';
import type { InteractionIndex } from './interaction-index';

/** Biased matrix factorisation hyper-parameters: r = mean + b_u + b_i + p_u . q_i. */
export interface MfParams {
  factors: number;
  /** L2 penalty on every bias and factor (also what a folded-in user or item is shrunk by). */
  reg: number;
  iterations: number;
}

/**
 * A fitted model. Users and items are rows [bias, factors...] of width factors + 1, so that a
 * rating is mean + x_u[0] + [1, x_u[1..]] . y_i (= mean + b_u + b_i + p_u . q_i).
 */
export interface MfModel {
  mean: number;
  users: Float32Array;
  items: Float32Array;
}

/**
 * Fits biased MF on the ratings of `index` by alternating least squares: each user's [b_u, p_u]
 * is the ridge solution given the items, then each item's [b_i, q_i] given the users.
 */
export function trainBiasedMf(
  index: InteractionIndex,
  p: MfParams,
  rng: Rng,
  checkAbort?: () => void,
): MfModel {
  const d = p.factors + 1;
  let sum = 0;
  for (let e = 0; e < index.rowValues.length; e++) sum += index.rowValues[e];
  const mean = index.rowValues.length > 0 ? sum / index.rowValues.length : 0;
  const users = Float64Array.from(gaussianArray(index.users * d, 0.1, rng));
  const items = Float64Array.from(gaussianArray(index.items * d, 0.1, rng));
  for (let u = 0; u < index.users; u++) users[u * d] = 0;
  for (let i = 0; i < index.items; i++) items[i * d] = 0;
  const a = new Float64Array(d * d);
  const b = new Float64Array(d);
  for (let it = 0; it < p.iterations; it++) {
    checkAbort?.();
    sweep(users, items, index.users, index.rowPtr, index.rowItems, index.rowValues);
    sweep(items, users, index.items, index.colPtr, index.colUsers, index.colValues);
  }
  return { mean, users: Float32Array.from(users), items: Float32Array.from(items) };

  function sweep(
    x: Float64Array,
    y: Float64Array,
    nx: number,
    ptr: Int32Array,
    idx: Int32Array,
    vals: Float32Array,
  ) {
    for (let u = 0; u < nx; u++) {
      a.fill(0);
      b.fill(0);
      for (let e = ptr[u]; e < ptr[u + 1]; e++)
        accumulate(a, b, y, idx[e] * d, vals[e] - mean - y[idx[e] * d], d);
      for (let k = 0; k < d; k++) a[k * d + k] += p.reg;
      choleskySolveInPlace(a, b, d);
      x.set(b, u * d);
    }
  }
}

/**
 * Adds one rating's normal-equation terms: psi psi^T to `a` and psi * target to `b`, where
 * psi = [1, other side's factors] read from `rows` at `o` (o is the row's bias entry).
 */
function accumulate(
  a: Float64Array,
  b: Float64Array,
  rows: Float64Array,
  o: number,
  target: number,
  d: number,
) {
  for (let i = 0; i < d; i++) {
    const pi = i === 0 ? 1 : rows[o + i];
    b[i] += pi * target;
    const row = i * d;
    for (let j = 0; j < d; j++) a[row + j] += pi * (j === 0 ? 1 : rows[o + j]);
  }
}

/**
 * Folds one user (or item) in: [bias, factors] minimising sum (target - psi . z)^2 +
 * reg |z - prior|^2 over the given other-side rows (each [bias, factors]) and their ratings, where
 * target = rating - mean - the other side's bias. No ratings: the prior (or zeros).
 */
export function mfFoldIn(
  model: Pick<MfModel, 'mean'>,
  rows: ArrayLike<number>,
  ratings: readonly number[],
  d: number,
  reg: number,
  prior?: ArrayLike<number>,
): Float64Array {
  const a = new Float64Array(d * d);
  const b = new Float64Array(d);
  const psi = Float64Array.from(rows); // one array type in `accumulate` keeps it monomorphic
  ratings.forEach((r, n) => accumulate(a, b, psi, n * d, r - model.mean - psi[n * d], d));
  for (let k = 0; k < d; k++) {
    a[k * d + k] += reg;
    if (prior) b[k] += reg * prior[k];
  }
  return choleskySolveInPlace(a, b, d);
}

/** mean + x[0] + [1, x[1..]] . y_row: the model's rating for user vector `x` and item row `row` of `items`. */
export function mfScore(
  mean: number,
  x: ArrayLike<number>,
  items: ArrayLike<number>,
  row: number,
  d: number,
): number {
  const o = row * d;
  let s = mean + x[0] + items[o];
  for (let k = 1; k < d; k++) s += x[k] * items[o + k];
  return s;
}
