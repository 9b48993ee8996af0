import { ValidationError } from '../errors';
import { encodeInto } from '../features/encoder';
import type { RecommenderModel } from '../model/model';
import { Rng } from '../rng';
import type { ItemCatalog, Task } from '../types';
import { NEGATIVE_DISTRIBUTIONS, NegativePool, type NegativeDistribution } from './pool';

/** Options of {@link buildNegativePool}. */
export interface NegativePoolOptions {
  /** Default: the model's `config.negatives.distribution`, else popularity. */
  distribution?: NegativeDistribution;
  /**
   * Largest pool kept (default 20,000 items): a larger catalog is represented by that many draws
   * from the distribution (with replacement, each kept item weighted by how often it was drawn),
   * which samples the same distribution in expectation at a bounded artifact size.
   */
  maxItems?: number;
  /** Seed of that subsampling (default 1). */
  seed?: number;
}

export const DEFAULT_POOL_SIZE = 20000;

/**
 * Builds the model's negative pool (`model.negativePool`) from the items of the training tasks:
 * every item with a positive interaction (value > 0) in a support or query set, weighted by its
 * count^0.75 (`popularity`) or equally (`uniform`), with its encoded feature row. metaTrain calls
 * it when an implicit model with `config.negatives` has no pool yet; call it yourself to train on
 * a one-shot task stream. Returns the pool.
 */
export function buildNegativePool(
  model: RecommenderModel,
  tasks: Iterable<Task>,
  items: ItemCatalog,
  options: NegativePoolOptions = {},
): NegativePool {
  const distribution = options.distribution ?? model.config.negatives?.distribution ?? 'popularity';
  if (!NEGATIVE_DISTRIBUTIONS.includes(distribution))
    throw new ValidationError('options.distribution', `must be ${NEGATIVE_DISTRIBUTIONS.join(' or ')}`);
  const maxItems = options.maxItems ?? DEFAULT_POOL_SIZE;
  if (!(Number.isInteger(maxItems) && maxItems > 0))
    throw new ValidationError('options.maxItems', 'must be an integer > 0');
  const counts = new Map<string, number>();
  for (const t of tasks) {
    for (const r of [...(t?.support ?? []), ...(t?.query ?? [])]) {
      if (!(typeof r?.itemId === 'string' && r.value > 0) || !items.get(r.itemId)) continue;
      counts.set(r.itemId, (counts.get(r.itemId) ?? 0) + 1);
    }
  }
  if (counts.size === 0) throw new ValidationError('tasks', 'have no positive interaction with a known item');
  let ids = [...counts.keys()].sort();
  let weights: Float64Array = Float64Array.from(ids, (id) =>
    distribution === 'uniform' ? 1 : counts.get(id)! ** 0.75,
  );
  if (ids.length > maxItems) ({ ids, weights } = subsample(ids, weights, maxItems, options.seed ?? 1));
  const width = model.layout.di;
  const rows = new Float32Array(ids.length * width);
  ids.forEach((id, i) =>
    encodeInto(model.spec.item, items.get(id)!.features ?? {}, rows, i * width, model.encodeStats),
  );
  const pool = new NegativePool(distribution, ids, weights, rows, width);
  model.negativePool = pool;
  return pool;
}

/** `draws` seeded draws by weight, with replacement; each drawn id weighted by its count of draws. */
function subsample(
  ids: string[],
  weights: Float64Array,
  draws: number,
  seed: number,
): { ids: string[]; weights: Float64Array } {
  const cumulative = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((w, i) => (cumulative[i] = sum += w));
  const rng = new Rng(seed);
  const hits = new Map<number, number>();
  for (let k = 0; k < draws; k++) {
    const u = rng.next() * sum;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    hits.set(lo, (hits.get(lo) ?? 0) + 1);
  }
  const kept = [...hits.keys()].sort((a, b) => a - b);
  return { ids: kept.map((i) => ids[i]), weights: Float64Array.from(kept, (i) => hits.get(i)!) };
}
