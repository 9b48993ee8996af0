import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from '../errors';
import type { RecommenderModel } from '../model/model';
import { encodeInto } from '../features/encoder';
import type { ItemCatalog, Task } from '../types';
import type { TaskSource } from './train';

/** Options of {@link initItemBiases}. */
export interface InitBiasOptions {
  /**
   * Pseudo-count pulling rarely rated items' biases towards their prior (default 5), or
   * `'empirical-bayes'`: the ratio sigma^2 / tau^2 of the variance components, fitted from the
   * data by the method of moments (sigma^2: the pooled within-item variance of the ratings; tau^2:
   * the variance of the items' true deviations from their prior, the mean squared observed
   * deviation minus its sampling part sigma^2 / n), i.e. the shrinkage of a normal-normal model.
   */
  shrinkage?: number | 'empirical-bayes';
  /**
   * Item features: when given, the item content bias (`emb.itemBias`) is set to a ridge regression
   * of the items' mean deviations on the item features (the "genre regression" for unseen items),
   * each item weighted by its rating count (capped at `evidenceCap`), and an item's ID bias is its
   * residual shrunk towards that content prediction, (sum(r - mean) - n * content) / (n + shrinkage).
   * Without items the prior is 0: ID bias = sum(r - mean) / (n + shrinkage).
   */
  items?: ItemCatalog;
  /** Ridge penalty of that regression (default 5). */
  ridge?: number;
  /** Cap on an item's weight in the regression, so blockbusters do not dominate it (default 50). */
  evidenceCap?: number;
}

/** Solves the symmetric positive definite system A x = b (Gaussian elimination, partial pivoting). */
function solve(a: Float64Array[], b: Float64Array): Float64Array {
  const n = b.length;
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r][c]) > Math.abs(a[piv][c])) piv = r;
    [a[c], a[piv]] = [a[piv], a[c]];
    [b[c], b[piv]] = [b[piv], b[c]];
    for (let r = c + 1; r < n; r++) {
      const f = a[r][c] / a[c][c];
      for (let k = c; k < n; k++) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r];
    for (let k = r + 1; k < n; k++) s -= a[r][k] * x[k];
    x[r] = s / a[r][r];
  }
  return x;
}

/**
 * Data-dependent initialisation before meta-training: sets the global mean of the ratings and,
 * for items with ID embeddings, their ID bias to the shrunk mean deviation
 * sum(r - mean) / (count + shrinkage); on implicit models the interaction rate count / users. Meta-training then starts from the "item bias" baseline
 * instead of learning every item's bias from scratch. One pass over the tasks (support and query).
 */
export async function initItemBiases(
  model: RecommenderModel,
  tasks: TaskSource,
  options: InitBiasOptions = {},
): Promise<{ ratings: number; items: number; mean: number; shrinkage: number }> {
  const fitted = options.shrinkage === 'empirical-bayes';
  if (!fitted && options.shrinkage !== undefined) {
    const k = options.shrinkage;
    if (!(typeof k === 'number' && Number.isFinite(k) && k >= 0))
      throw new ValidationError('options.shrinkage', "must be a finite number >= 0 or 'empirical-bayes'");
  }
  const ridge = options.ridge ?? 5;
  const cap = options.evidenceCap ?? 50;
  if (!(Number.isFinite(ridge) && ridge > 0))
    throw new ValidationError('options.ridge', 'must be a number > 0');
  if (!(cap > 0)) throw new ValidationError('options.evidenceCap', 'must be a number > 0');
  const src = typeof tasks === 'function' ? tasks() : tasks;
  // Per item: sum of values, count, sum of squares.
  const sums = new Map<string, [number, number, number]>();
  let total = 0;
  let count = 0;
  const users = new Set<string>();
  const add = (t: Task) => {
    users.add(t.user?.id);
    for (const r of [...(t.support ?? []), ...(t.query ?? [])]) {
      if (!Number.isFinite(r?.value)) continue;
      total += r.value;
      count++;
      const s = sums.get(r.itemId) ?? [0, 0, 0];
      s[0] += r.value;
      s[1]++;
      s[2] += r.value * r.value;
      sums.set(r.itemId, s);
    }
  };
  if (Symbol.asyncIterator in src) for await (const t of src as AsyncIterable<Task>) add(t);
  else for (const t of src as Iterable<Task>) add(t);
  if (count === 0) throw new ValidationError('tasks', 'contain no ratings');
  const mean = model.config.task === 'rating' ? total / count : 0;
  model.globalMean = mean;
  model.meanFitted = true;
  const deviations = new Map<string, [number, number]>();
  for (const [id, [sum, n]] of sums) deviations.set(id, [sum - n * mean, n]);
  const implicit = model.config.task === 'implicit';
  const content =
    options.items && !implicit
      ? fitContentBias(model, deviations, options.items, ridge, cap)
      : new Map<string, number>();
  const shrinkage = implicit
    ? 0
    : fitted
      ? varianceRatio(sums, deviations, content)
      : ((options.shrinkage as number | undefined) ?? 5);
  const biases = new Map<string, number>();
  if (implicit) {
    // Implicit feedback: the item's interaction rate n / users, the chance that a user interacts
    // with it, on the scale of the fold-in's 0/1 targets: with no support the prior ranks by
    // popularity, which a shrunk mean of values that are all 1 (n / (n + k)) cannot do once items
    // have more than a few interactions. No content bias: the ID generator learns it
    // (initGeneratorFromIds).
    for (const [id, [, n]] of deviations) biases.set(id, n / Math.max(users.size, 1));
  } else {
    for (const [id, [dev, n]] of deviations) {
      biases.set(id, (dev - n * (content.get(id) ?? 0)) / (n + shrinkage));
    }
  }
  let items = 0;
  if (model.layout.idDim > 0) {
    const table = model.params['id.item'];
    const values = table.dataSync().slice() as Float32Array;
    const width = table.shape[1]!;
    for (const [id, b] of biases) {
      const row = model.itemIdIndex.get(id);
      if (row === undefined) continue;
      values[row * width + width - 1] = b;
      items++;
    }
    table.assign(tf.tensor(values, table.shape));
    model.touch();
  }
  return { ratings: count, items, mean, shrinkage };
}

/**
 * Undoes {@link initItemBiases} on the item ID rows: every row's bias column back to 0, where a
 * model without them starts (a trainer compares both starts on validation users). Returns the
 * number of rows. The generator, fitted to the rows, should be fitted again after it.
 */
export function clearItemBiases(model: RecommenderModel): number {
  if (model.layout.idDim === 0) return 0;
  const table = model.params['id.item'];
  const values = table.dataSync().slice() as Float32Array;
  const width = table.shape[1]!;
  const rows = values.length / width;
  for (let r = 0; r < rows; r++) values[r * width + width - 1] = 0;
  table.assign(tf.tensor(values, table.shape));
  model.touch();
  return rows;
}

/**
 * sigma^2 / tau^2 by the method of moments: sigma^2 pooled within-item variance (items with two
 * or more ratings), tau^2 = mean over items of (mean deviation from the prior)^2 - sigma^2 / n,
 * floored at 1% of sigma^2 (so the ratio stays finite when the items barely differ).
 */
function varianceRatio(
  sums: Map<string, [number, number, number]>,
  deviations: Map<string, [number, number]>,
  content: Map<string, number>,
): number {
  let within = 0;
  let dof = 0;
  for (const [sum, n, squares] of sums.values()) {
    if (n < 2) continue;
    within += squares - (sum * sum) / n;
    dof += n - 1;
  }
  const sigma2 = dof > 0 ? within / dof : 1;
  let between = 0;
  for (const [id, [dev, n]] of deviations) {
    const d = dev / n - (content.get(id) ?? 0);
    between += d * d - sigma2 / n;
  }
  const tau2 = Math.max(between / Math.max(deviations.size, 1), 0.01 * sigma2);
  return sigma2 / tau2;
}

/**
 * Weighted ridge regression of the items' mean deviations on their feature rows into
 * `emb.itemBias` (weight min(n, cap)); returns each rated item's content prediction.
 */
function fitContentBias(
  model: RecommenderModel,
  deviations: Map<string, [number, number]>,
  items: ItemCatalog,
  ridge: number,
  cap: number,
): Map<string, number> {
  const d = model.layout.di;
  const a = Array.from({ length: d }, (_, i) => {
    const row = new Float64Array(d);
    row[i] = ridge;
    return row;
  });
  const rhs = new Float64Array(d);
  const rows = new Map<string, Float32Array>();
  for (const [id, [dev, n]] of deviations) {
    const item = items.get(id);
    if (!item) continue;
    const x = new Float32Array(d);
    encodeInto(model.spec.item, item.features ?? {}, x, 0, model.encodeStats);
    rows.set(id, x);
    const weight = Math.min(n, cap);
    const target = dev / n;
    for (let i = 0; i < d; i++) {
      if (x[i] === 0) continue;
      rhs[i] += weight * x[i] * target;
      for (let j = 0; j < d; j++) a[i][j] += weight * x[i] * x[j];
    }
  }
  const w = solve(a, rhs);
  model.params['emb.itemBias'].assign(tf.tensor2d(Float32Array.from(w), [d, 1]));
  model.touch();
  const fitted = new Map<string, number>();
  for (const [id, x] of rows) {
    let fit = 0;
    for (let i = 0; i < d; i++) fit += x[i] * w[i];
    fitted.set(id, fit);
  }
  return fitted;
}
