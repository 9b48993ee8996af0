import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from '../errors';
import type { RecommenderModel } from '../model/model';
import type { Task } from '../types';
import type { TaskSource } from './train';

/** Options of {@link initItemBiases}. */
export interface InitBiasOptions {
  /** Pseudo-count pulling rarely rated items' biases towards 0 (default 5). */
  shrinkage?: number;
}

/**
 * Data-dependent initialisation before meta-training: sets the global mean of the ratings and,
 * for items with ID embeddings, their ID bias to the shrunk mean deviation
 * sum(r - mean) / (count + shrinkage). Meta-training then starts from the "item bias" baseline
 * instead of learning every item's bias from scratch. One pass over the tasks (support and query).
 */
export async function initItemBiases(
  model: RecommenderModel,
  tasks: TaskSource,
  options: InitBiasOptions = {},
): Promise<{ ratings: number; items: number; mean: number }> {
  const shrinkage = options.shrinkage ?? 5;
  if (!(Number.isFinite(shrinkage) && shrinkage >= 0)) {
    throw new ValidationError('options.shrinkage', 'must be a finite number >= 0');
  }
  const src = typeof tasks === 'function' ? tasks() : tasks;
  const sums = new Map<string, [number, number]>();
  let total = 0;
  let count = 0;
  const add = (t: Task) => {
    for (const r of [...(t.support ?? []), ...(t.query ?? [])]) {
      if (!Number.isFinite(r?.value)) continue;
      total += r.value;
      count++;
      const s = sums.get(r.itemId) ?? [0, 0];
      s[0] += r.value;
      s[1]++;
      sums.set(r.itemId, s);
    }
  };
  if (Symbol.asyncIterator in src) for await (const t of src as AsyncIterable<Task>) add(t);
  else for (const t of src as Iterable<Task>) add(t);
  if (count === 0) throw new ValidationError('tasks', 'contain no ratings');
  const mean = model.config.task === 'rating' ? total / count : 0;
  model.globalMean = mean;
  model.meanFitted = true;
  let items = 0;
  if (model.layout.idDim > 0) {
    const table = model.params['id.item'];
    const values = table.dataSync().slice() as Float32Array;
    const width = table.shape[1]!;
    for (const [id, [sum, n]] of sums) {
      const row = model.itemIdIndex.get(id);
      if (row === undefined) continue;
      values[row * width + width - 1] = (sum - n * mean) / (n + shrinkage);
      items++;
    }
    table.assign(tf.tensor(values, table.shape));
    model.touch();
  }
  return { ratings: count, items, mean };
}
