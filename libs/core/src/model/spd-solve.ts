/**
 * Batched solve of symmetric positive definite systems, differentiable.
 *
 * tfjs has no linear solver. The systems here are small (one per user, a few dozen unknowns), so
 * they are factorised on the host in float64 (Cholesky), which is exact and fast enough. The
 * gradient uses the same factorisation: for x = A^-1 b with A symmetric, db = A^-1 dy and
 * dA = -db x^T. That is a first derivative only: fine for closed-form adaptation, whose
 * meta-gradient needs no derivative of a derivative.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Lower-triangular Cholesky factors of B symmetric positive definite d x d matrices (row-major). */
function cholesky(a: Float32Array, batch: number, d: number): Float64Array {
  const l = new Float64Array(batch * d * d);
  for (let b = 0; b < batch; b++) {
    const o = b * d * d;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let s = a[o + i * d + j];
        for (let k = 0; k < j; k++) s -= l[o + i * d + k] * l[o + j * d + k];
        if (i === j) {
          if (!(s > 0)) throw new RangeError(`solveSpd: matrix ${b} is not positive definite`);
          l[o + i * d + i] = Math.sqrt(s);
        } else l[o + i * d + j] = s / l[o + j * d + j];
      }
    }
  }
  return l;
}

/** Solves L L^T x = rhs for every batch entry and right-hand side column ([B,d,k] row-major). */
function cholSolve(l: Float64Array, rhs: Float32Array, batch: number, d: number, k: number): Float32Array {
  const x = new Float32Array(batch * d * k);
  const y = new Float64Array(d);
  for (let b = 0; b < batch; b++) {
    const lo = b * d * d;
    const ro = b * d * k;
    for (let c = 0; c < k; c++) {
      for (let i = 0; i < d; i++) {
        let s = rhs[ro + i * k + c];
        for (let j = 0; j < i; j++) s -= l[lo + i * d + j] * y[j];
        y[i] = s / l[lo + i * d + i];
      }
      for (let i = d - 1; i >= 0; i--) {
        let s = y[i];
        for (let j = i + 1; j < d; j++) s -= l[lo + j * d + i] * x[ro + j * k + c];
        x[ro + i * k + c] = s / l[lo + i * d + i];
      }
    }
  }
  return x;
}

/**
 * x = A^-1 b for A [B,d,d] symmetric positive definite and b [B,d,k]; differentiable in A and b.
 * Throws a RangeError when a matrix is not positive definite (e.g. a ridge penalty of 0 on a
 * rank-deficient system).
 */
export const solveSpd = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const a = args[0] as tf.Tensor3D;
  const b = args[1] as tf.Tensor3D;
  const save = args[2] as tf.GradSaveFunc;
  const [batch, d, d2] = a.shape;
  const k = b.shape[2];
  if (d !== d2 || b.shape[0] !== batch || b.shape[1] !== d) {
    throw new RangeError(`solveSpd: shapes [${a.shape}] and [${b.shape}] do not match`);
  }
  const l = cholesky(a.dataSync() as Float32Array, batch, d);
  const x = tf.tensor3d(cholSolve(l, b.dataSync() as Float32Array, batch, d, k), [batch, d, k]);
  // Tensors used by the backward pass must be saved: gradient tapes free the other intermediates.
  save([x]);
  return {
    value: x,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const db = tf.tensor3d(cholSolve(l, dy.dataSync() as Float32Array, batch, d, k), [batch, d, k]);
      const da = tf.neg(tf.matMul(db, saved[0], false, true));
      return [da, db];
    },
  };
}) as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;
