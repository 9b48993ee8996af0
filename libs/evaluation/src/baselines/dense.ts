/**
 * Small dense linear algebra on row-major Float64Arrays: the per-user and per-item normal equations
 * of the factor models (a few dozen unknowns each), solved many thousands of times.
 */

/** Solves A x = b for a symmetric positive-definite n x n `a`; `a` is overwritten by its Cholesky factor and `b` by x. */
export function choleskySolveInPlace(a: Float64Array, b: Float64Array, n: number): Float64Array {
  choleskyFactorInPlace(a, n);
  return choleskySubstitute(a, b, n);
}

/** Overwrites the lower triangle of the SPD n x n `a` with L, where A = L L^T. */
export function choleskyFactorInPlace(a: Float64Array, n: number): Float64Array {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let k = 0; k < j; k++) d -= a[j * n + k] * a[j * n + k];
    if (!(d > 0)) throw new RangeError('cholesky: the matrix is not positive definite');
    const ljj = Math.sqrt(d);
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = s / ljj;
    }
  }
  return a;
}

/** Solves L L^T x = b in place given the factor from `choleskyFactorInPlace`. */
export function choleskySubstitute(l: Float64Array, b: Float64Array, n: number): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * b[k];
    b[i] = s / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
  return b;
}

/** Adds w * v v^T to the n x n matrix `a` (v: `n` entries of `src` from `offset`). */
export function addOuter(
  a: Float64Array,
  src: ArrayLike<number>,
  offset: number,
  n: number,
  w: number,
): void {
  for (let i = 0; i < n; i++) {
    const vi = w * src[offset + i];
    if (vi === 0) continue;
    const row = i * n;
    for (let j = 0; j < n; j++) a[row + j] += vi * src[offset + j];
  }
}

/** Gram matrix M^T M of the `rows` x `n` row-major matrix `m`, plus `ridge` on the diagonal. */
export function gram(m: ArrayLike<number>, rows: number, n: number, ridge: number): Float64Array {
  const g = new Float64Array(n * n);
  for (let r = 0; r < rows; r++) addOuter(g, m, r * n, n, 1);
  for (let i = 0; i < n; i++) g[i * n + i] += ridge;
  return g;
}

/** Dot product of `n` entries of `a` from `ao` and of `b` from `bo`. */
export function dotAt(a: ArrayLike<number>, ao: number, b: ArrayLike<number>, bo: number, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[ao + i] * b[bo + i];
  return s;
}

/** Scores every row of a row-major `rows` x `n` matrix against `x`: out[r] = M[r] . x. */
export function matVec(
  m: ArrayLike<number>,
  rows: number,
  n: number,
  x: ArrayLike<number>,
  out: Float32Array,
): Float32Array {
  for (let r = 0; r < rows; r++) out[r] = dotAt(m, r * n, x, 0, n);
  return out;
}
