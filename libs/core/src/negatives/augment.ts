/**
 * Sampled negatives for implicit feedback: a support set becomes its positives plus sampled
 * negatives (value 0), the set an implicit user is adapted on; a query set gets negatives paired
 * with its positives, for the BPR loss of meta-training.
 */
import { Rng } from '../rng';
import type { Rating } from '../types';
import type { NegativePool } from './pool';

/** A list's positives (value > 0). */
export function positivesOf(list: readonly Rating[]): Rating[] {
  return list.filter((r) => r.value > 0);
}

/**
 * The support set plus `perPositive` negatives per positive, drawn from the pool with `rng`,
 * never one of `exclude` (the user's own items). Values become labels: 1 for a positive (any
 * value > 0, e.g. a play count), 0 for a labelled negative, which stays.
 */
export function withSampledNegatives(
  support: readonly Rating[],
  pool: NegativePool,
  perPositive: number,
  rng: Rng,
  exclude: ReadonlySet<string>,
): Rating[] {
  // Labels are 0/1 whatever the stored values (counts, weights): a positive is a 1.
  const labelled = support.map((r) => ({ ...r, value: r?.value > 0 ? 1 : 0 }));
  const n = positivesOf(support).length * perPositive;
  if (n === 0) return labelled;
  return [...labelled, ...pool.sample(rng, n, exclude).map((itemId) => ({ itemId, value: 0 }))];
}

/**
 * Negatives for a query set, each paired with one of its positives: `items[m]` is a negative for
 * the positive at index `pairOf[m]` of `query` (`perPositive` per positive, fewer only when the
 * pool runs out of items the user does not have).
 */
export function queryNegatives(
  query: readonly Rating[],
  pool: NegativePool,
  perPositive: number,
  rng: Rng,
  exclude: ReadonlySet<string>,
): { items: Rating[]; pairOf: number[] } {
  const items: Rating[] = [];
  const pairOf: number[] = [];
  query.forEach((r, j) => {
    if (!(r.value > 0)) return;
    for (const itemId of pool.sample(rng, perPositive, exclude)) {
      items.push({ itemId, value: 0 });
      pairOf.push(j);
    }
  });
  return { items, pairOf };
}

/**
 * A seed for one adaptation request from the caller's seed, the user id and the support items
 * (FNV-1a): the same request always gets the same negatives, whatever else is in its batch.
 */
export function requestSeed(seed: number, userId: string, support: readonly Rating[]): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  const mix = (s: string) => {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ 0xff, 0x01000193) >>> 0; // separator
  };
  mix(userId);
  for (const r of support) mix(r?.itemId ?? '');
  return h | 0;
}

/** The per-request generator of {@link requestSeed}. */
export function requestRng(seed: number, userId: string, support: readonly Rating[]): Rng {
  return new Rng(requestSeed(seed, userId, support));
}
