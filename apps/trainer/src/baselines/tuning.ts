import type { Task } from '../data/types';

/** Candidate shrinkage strengths, chosen per baseline on the warm validation users' MAE. */
export const LAMBDA_GRID = [0, 1, 2, 5, 10, 25, 50];

/** Query MAE of a per-task predictor over the validation tasks. */
export function validationMae(
  tasks: readonly Task[],
  predictTask: (task: Task) => ArrayLike<number>,
): number {
  let abs = 0;
  let n = 0;
  for (const task of tasks) {
    const pred = predictTask(task);
    task.query.forEach((r, i) => {
      abs += Math.abs(pred[i] - r.value);
      n++;
    });
  }
  return n === 0 ? NaN : abs / n;
}

/** The argmin of `score` over `candidates` (first one wins ties). NaN scores never win. */
export function pickBest<T>(candidates: readonly T[], score: (c: T) => number): T {
  let best = candidates[0];
  let bestScore = Infinity;
  for (const c of candidates) {
    const s = score(c);
    if (s < bestScore) {
      best = c;
      bestScore = s;
    }
  }
  return best;
}
