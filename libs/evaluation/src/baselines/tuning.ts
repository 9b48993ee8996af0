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

/** The argmax of `score` over `candidates` (first one wins ties). NaN scores never win. */
export async function pickHighest<T>(
  candidates: readonly T[],
  score: (c: T) => Promise<number>,
): Promise<{ best: T; score: number }> {
  let best = candidates[0];
  let bestScore = -Infinity;
  for (const c of candidates) {
    const s = await score(c);
    if (s > bestScore) {
      best = c;
      bestScore = s;
    }
  }
  return { best, score: bestScore };
}

/** One hyper-parameter of a coordinate search and the values it tries. */
export interface SearchAxis<P> {
  key: keyof P;
  values: readonly number[];
}

/**
 * Coordinate search for the highest `score`: from `start`, each axis in turn takes the value of its
 * grid that scores highest with the other hyper-parameters at their best so far. Each point is
 * scored once (a few fits instead of the whole grid's product); NaN never wins; on a tie the point
 * found first stays.
 */
export async function coordinateSearch<P extends Record<string, number>>(
  start: P,
  axes: readonly SearchAxis<P>[],
  score: (params: P) => Promise<number>,
): Promise<{ best: P; score: number; evaluated: number }> {
  const seen = new Map<string, number>();
  const evaluate = async (p: P) => {
    const key = JSON.stringify(p);
    let s = seen.get(key);
    if (s === undefined) {
      const raw = await score(p);
      s = Number.isNaN(raw) ? -Infinity : raw;
      seen.set(key, s);
    }
    return s;
  };
  let best = start;
  let bestScore = await evaluate(start);
  for (const axis of axes) {
    for (const value of axis.values) {
      const candidate = { ...best, [axis.key]: value };
      const s = await evaluate(candidate);
      if (s > bestScore) {
        best = candidate;
        bestScore = s;
      }
    }
  }
  return { best, score: bestScore, evaluated: seen.size };
}
