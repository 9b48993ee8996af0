import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from '../errors';
import { supportsClosedFormHead } from '../model/head-only';
import type { RecommenderModel } from '../model/model';
import { Rng } from '../rng';
import type { ItemCatalog, Task } from '../types';
import { buildNegativePool } from '../negatives/build-pool';
import { ALGORITHMS, localGroupsFor, type Algorithm } from './algorithm';
import { buildMetaBatch, disposeMetaBatch, metaGradients, type MetaBatch } from './objective';

/** Hyper-parameters of {@link metaTrain}. */
export interface MetaTrainOptions {
  algorithm: Algorithm;
  /** Inner gradient steps per task (also the serving default afterwards). */
  innerSteps: number;
  /** Inner learning rate (Meta-SGD: the initial value of every learned rate). */
  innerLr: number;
  /**
   * Adapt each task's head in closed form (ridge regression on the trunk features, this penalty)
   * instead of `innerSteps` gradient steps, and meta-learn the trunk through that solve; also the
   * serving default afterwards. Needs a head-only configuration (ANIL) and the rating task. Default
   * null (gradient steps).
   */
  innerRidge?: number | null;
  /** Adam learning rate of the outer (meta) update. */
  outerLr: number;
  metaBatchSize: number;
  epochs: number;
  /** Fixes task order and MetaEmb ID dropout. */
  seed: number;
  /** Tasks are shuffled through a buffer of this size, so streams need bounded memory. */
  shuffleBuffer: number;
  /**
   * Keep the item bias terms (content bias `emb.itemBias` and the ID-bias column of `id.item` and
   * of the generator) at their current values, typically the closed-form ones of
   * {@link initItemBiases}: the network then only learns what the biases do not explain. Default false.
   */
  freezeItemBiases?: boolean;
  /**
   * Support sizes of the meta-training episodes: `full` (default) adapts every task on its whole
   * support set; `uniform` and `log-uniform` cut each task's support set, per episode, to its first
   * k ratings with k drawn from 1..n (n its size; log-uniform: k = floor((n+1)^u), u uniform, so
   * k = 1-3 is about as likely as 10-30), seeded, so the prior and the adaptation are tuned for a
   * new user's first ratings as much as for long histories; `mixed`: half the episodes full, half
   * uniform.
   */
  supportSizes?: SupportSizes;
  /** Bayesian last layer (`config.bayesHead`) on ratings: query loss `nll` (default) or `mse`. */
  bayesLoss?: 'nll' | 'mse';
  /**
   * Awaited after every epoch with its number (0-based) and mean query loss; returning `'stop'`
   * ends training there (early stopping, e.g. on validation users).
   */
  onEpochEnd?: (epoch: number, loss: number) => 'stop' | void | Promise<'stop' | void>;
}

/** How meta-training episodes size their support sets (see MetaTrainOptions.supportSizes). */
export type SupportSizes = 'full' | 'uniform' | 'log-uniform' | 'mixed';
export const SUPPORT_SIZES: readonly SupportSizes[] = ['full', 'uniform', 'log-uniform', 'mixed'];

/** A support size k in 1..n drawn by `how` (n = 0 gives 0). */
export function drawSupportSize(how: SupportSizes, n: number, rng: Rng): number {
  if (n <= 1 || how === 'full') return n;
  if (how === 'mixed') return rng.next() < 0.5 ? n : 1 + rng.int(n);
  const k = how === 'uniform' ? 1 + rng.int(n) : Math.floor(Math.exp(rng.next() * Math.log(n + 1)));
  return Math.min(n, Math.max(1, k));
}

export const DEFAULT_TRAIN_OPTIONS: MetaTrainOptions = {
  algorithm: 'maml',
  innerSteps: 5,
  innerLr: 0.05,
  outerLr: 0.002,
  metaBatchSize: 32,
  epochs: 1,
  seed: 1,
  shuffleBuffer: 2048,
};

/** Reported after every meta-batch. */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  /** Meta-batches done so far (all epochs). */
  metaBatch: number;
  /** Tasks consumed so far (all epochs). */
  tasks: number;
  /** Post-adaptation query loss of this meta-batch (before its update). */
  loss: number;
  elapsedMs: number;
}

/** Outcome of {@link metaTrain}. */
export interface TrainResult {
  /** Query loss of every meta-batch, in order. */
  lossHistory: number[];
  /** Mean query loss per completed (or interrupted) epoch. */
  epochLoss: number[];
  tasks: number;
  metaBatches: number;
  /** Tasks skipped because their query set was empty. */
  skipped: number;
  /** True when stopped by the AbortSignal (the model holds the last completed meta-batch's update). */
  aborted: boolean;
  /** True when `onEpochEnd` asked to stop before the last epoch. */
  stoppedEarly: boolean;
}

/**
 * Zeroes the gradients of the item bias terms in place: `emb.itemBias` is dropped (Adam then
 * leaves it untouched), and the last column (the ID bias) of `id.item`, `gen.w` and `gen.b`.
 */
export function freezeItemBiasGrads(grads: Record<string, tf.Tensor>): void {
  grads['emb.itemBias']?.dispose();
  delete grads['emb.itemBias'];
  for (const name of ['id.item', 'gen.w', 'gen.b']) {
    const g = grads[name];
    if (!g) continue;
    const width = g.shape[g.rank - 1]!;
    const mask = tf.concat([tf.ones([width - 1]), tf.zeros([1])]);
    grads[name] = tf.mul(g, mask);
    tf.dispose([g, mask]);
  }
}

/**
 * Name of the first gradient holding a NaN or an infinity, or null when all are finite. One
 * download of one value per tensor: sum(g * 0) is 0 exactly when every entry is finite.
 */
export function nonFiniteGradient(grads: Record<string, tf.Tensor>): string | null {
  const names = Object.keys(grads);
  if (names.length === 0) return null;
  const probe = tf.tidy(() => tf.stack(names.map((n) => tf.sum(tf.mul(grads[n], 0)))));
  const v = probe.dataSync();
  probe.dispose();
  const i = v.findIndex((x) => x !== 0);
  return i < 0 ? null : names[i];
}

/** Tasks: an (async) iterable, or a function returning one per epoch (needed for several epochs of a stream). */
export type TaskSource = Iterable<Task> | AsyncIterable<Task> | (() => Iterable<Task> | AsyncIterable<Task>);

function checkOptions(o: MetaTrainOptions): void {
  if (!ALGORITHMS.includes(o.algorithm)) {
    throw new ValidationError('options.algorithm', `must be one of ${ALGORITHMS.join(', ')}`);
  }
  const ints: (keyof MetaTrainOptions)[] = ['innerSteps', 'metaBatchSize', 'epochs', 'shuffleBuffer', 'seed'];
  for (const k of ints) {
    const v = o[k] as number;
    const min = k === 'innerSteps' || k === 'seed' ? 0 : 1;
    if (!(Number.isInteger(v) && v >= min))
      throw new ValidationError(`options.${k}`, `must be an integer >= ${min}`);
  }
  for (const k of ['innerLr', 'outerLr'] as const) {
    if (!(Number.isFinite(o[k]) && o[k] > 0))
      throw new ValidationError(`options.${k}`, 'must be a positive number');
  }
  if (o.supportSizes !== undefined && !SUPPORT_SIZES.includes(o.supportSizes))
    throw new ValidationError('options.supportSizes', `must be ${SUPPORT_SIZES.join(', ')}`);
  if (o.bayesLoss !== undefined && o.bayesLoss !== 'nll' && o.bayesLoss !== 'mse')
    throw new ValidationError('options.bayesLoss', 'must be nll or mse');
}

function checkTask(t: Task, n: number): void {
  if (!t || !t.user || typeof t.user.id !== 'string')
    throw new ValidationError(`tasks[${n}].user.id`, 'is required');
  if (!Array.isArray(t.support)) throw new ValidationError(`tasks[${n}].support`, 'must be an array');
  if (!Array.isArray(t.query)) throw new ValidationError(`tasks[${n}].query`, 'must be an array');
}

async function* iterate(src: Iterable<Task> | AsyncIterable<Task>): AsyncGenerator<Task> {
  if (Symbol.asyncIterator in src) yield* src as AsyncIterable<Task>;
  else yield* src as Iterable<Task>;
}

/**
 * Meta-trains the model on tasks (one user = support + query set): each meta-batch of B tasks is
 * adapted in one batched computation and the global parameters take one Adam step on the
 * meta-gradient. Seeded (task order via a shuffle buffer, MetaEmb ID dropout, initialisation in
 * createModel). Stops cleanly between meta-batches when `signal` aborts. The `melu` algorithm
 * switches the model to MeLU's local groups (decision + output layers), `anil` to the output head only.
 */
export async function metaTrain(
  model: RecommenderModel,
  tasks: TaskSource,
  items: ItemCatalog,
  options: Partial<MetaTrainOptions> = {},
  onProgress?: (p: TrainProgress) => void,
  signal?: AbortSignal,
): Promise<TrainResult> {
  const o: MetaTrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...options };
  checkOptions(o);
  model.config.localGroups = [...localGroupsFor(o.algorithm, model.config.localGroups)];
  const headOnly = supportsClosedFormHead(model.config.localGroups, o.algorithm);
  if (o.innerRidge != null) {
    if (!(Number.isFinite(o.innerRidge) && o.innerRidge > 0))
      throw new ValidationError('options.innerRidge', 'must be a finite number > 0 or null');
    if (!headOnly) {
      throw new ValidationError(
        'options.innerRidge',
        'needs a model whose only local group is output (algorithm anil, fomaml, maml or reptile)',
      );
    }
  }
  if (model.config.bayesHead) {
    if (!headOnly)
      throw new ValidationError(
        'options.algorithm',
        'a model with bayesHead needs a head-only algorithm (anil, or maml/fomaml/reptile with localGroups ["output"])',
      );
    if (o.innerRidge != null)
      throw new ValidationError(
        'options.innerRidge',
        'a model with bayesHead adapts to its posterior (use null)',
      );
  }
  if (o.algorithm === 'meta-sgd' && model.innerLrs && model.training?.algorithm !== 'meta-sgd') {
    throw new ValidationError('options.algorithm', 'model already has Meta-SGD rates from another run');
  }
  const rng = new Rng(o.seed);
  const coldRate = model.config.idEmbeddings?.coldRate ?? 0.3;
  const dropId = model.layout.idDim > 0 ? () => rng.next() < coldRate : undefined;
  // User IDs draw from their own stream, so configurations without them keep their exact sequence.
  const userRng = new Rng(o.seed ^ 0x5eed);
  const userColdRate = model.config.idEmbeddings?.userColdRate ?? coldRate;
  const dropUserId = model.layout.userIdDim > 0 ? () => userRng.next() < userColdRate : undefined;
  // Implicit models with sampled negatives: the pool comes from the training tasks, and the
  // negatives from their own seeded stream.
  const sampling = model.config.negatives;
  if (sampling && !model.negativePool) {
    const src = Array.isArray(tasks) ? tasks : typeof tasks === 'function' ? tasks() : null;
    if (!src || !(Symbol.iterator in src))
      throw new ValidationError(
        'tasks',
        'an implicit model with config.negatives needs its negative pool: pass tasks as an array or a function returning a sync iterable, or call buildNegativePool first',
      );
    buildNegativePool(model, src as Iterable<Task>, items);
  }
  const negRng = new Rng(o.seed ^ 0x6e6567);
  // Variable support sizes draw from their own stream too.
  const sizeRng = new Rng(o.seed ^ 0x5123);
  const sizes = o.supportSizes ?? 'full';
  const episode = (t: Task): Task =>
    sizes === 'full'
      ? t
      : { ...t, support: t.support.slice(0, drawSupportSize(sizes, t.support.length, sizeRng)) };
  const negatives =
    sampling && model.negativePool
      ? { pool: model.negativePool, perPositive: sampling.perPositive, rng: negRng }
      : undefined;
  const rowCache = new Map<string, Float32Array>();
  const optimizer = tf.train.adam(o.outerLr);
  const setMean =
    model.config.task === 'rating' &&
    model.config.globalMean === undefined &&
    !model.training &&
    !model.meanFitted;
  let meanSum = 0;
  let meanCount = 0;
  const started = Date.now();
  const result: TrainResult = {
    lossHistory: [],
    epochLoss: [],
    tasks: 0,
    metaBatches: 0,
    skipped: 0,
    aborted: false,
    stoppedEarly: false,
  };
  let seen = 0;

  const step = (batch: Task[], epoch: number) => {
    // What this step may change before its update, restored if it fails (divergence included).
    const before = { globalMean: model.globalMean, meanFitted: model.meanFitted, lrs: model.innerLrs };
    if (setMean && result.metaBatches === 0 && meanCount > 0) {
      model.globalMean = meanSum / meanCount;
      model.meanFitted = true;
    }
    let grads: Record<string, tf.Tensor> = {};
    let mb: MetaBatch | undefined;
    let applied = false;
    try {
      mb = buildMetaBatch(model, batch.map(episode), items, {
        rowCache,
        dropId,
        dropUserId,
        negatives,
        path: 'tasks',
      });
      const out = metaGradients(model, mb, o);
      grads = out.grads;
      const loss = out.loss;
      if (o.freezeItemBiases) freezeItemBiasGrads(grads);
      // Check before the update, so a diverged step leaves the model (and Adam's state) untouched.
      const bad = Number.isFinite(loss) ? nonFiniteGradient(grads) : null;
      if (!Number.isFinite(loss) || bad !== null) {
        throw new Error(
          `meta-training diverged at meta-batch ${result.metaBatches + 1} (${
            bad === null ? `loss ${loss}` : `gradient of ${bad} is not finite`
          }); the model keeps its last finite update; lower innerLr or outerLr`,
        );
      }
      // The optimiser finds variables by their registered (model-unique) names.
      const named: Record<string, tf.Tensor> = {};
      for (const [name, g] of Object.entries(grads)) {
        const v = name.startsWith('lr/') ? model.innerLrs![name.slice(3)] : model.params[name];
        named[v.name] = g;
      }
      optimizer.applyGradients(named as Parameters<typeof optimizer.applyGradients>[0]);
      applied = true;
      model.touch();
      result.lossHistory.push(loss);
      result.metaBatches++;
      result.tasks += batch.length;
      onProgress?.({
        epoch,
        epochs: o.epochs,
        metaBatch: result.metaBatches,
        tasks: result.tasks,
        loss,
        elapsedMs: Date.now() - started,
      });
    } catch (err) {
      if (!applied) {
        model.globalMean = before.globalMean;
        model.meanFitted = before.meanFitted;
        // Meta-SGD rates created by this (first) step's metaGradients.
        if (model.innerLrs !== before.lrs) {
          for (const v of Object.values(model.innerLrs ?? {})) v.dispose();
          model.innerLrs = before.lrs;
        }
      }
      throw err;
    } finally {
      tf.dispose(Object.values(grads));
      if (mb) disposeMetaBatch(mb);
    }
  };

  try {
    for (let epoch = 0; epoch < o.epochs && !result.aborted; epoch++) {
      const src = typeof tasks === 'function' ? tasks() : tasks;
      const buffer: Task[] = [];
      let batch: Task[] = [];
      const lossStart = result.lossHistory.length;
      const emit = async (t: Task) => {
        batch.push(t);
        if (batch.length === o.metaBatchSize) {
          if (signal?.aborted) {
            result.aborted = true;
            return;
          }
          step(batch, epoch);
          batch = [];
          await new Promise((r) => setImmediate(r)); // let abort signals and I/O through
        }
      };
      let count = 0;
      for await (const t of iterate(src)) {
        checkTask(t, seen++);
        count++;
        if (t.query.length === 0) {
          result.skipped++;
          continue;
        }
        if (setMean && result.metaBatches === 0) {
          for (const r of [...t.support, ...t.query]) {
            if (!Number.isFinite(r?.value)) continue;
            meanSum += r.value;
            meanCount++;
          }
        }
        buffer.push(t);
        if (buffer.length >= o.shuffleBuffer) {
          const j = rng.int(buffer.length);
          [buffer[j], buffer[buffer.length - 1]] = [buffer[buffer.length - 1], buffer[j]];
          await emit(buffer.pop()!);
          if (result.aborted) break;
        }
      }
      if (count === 0) throw new ValidationError('tasks', `yielded no tasks in epoch ${epoch + 1}`);
      rng.shuffle(buffer);
      for (const t of buffer) {
        if (result.aborted) break;
        await emit(t);
      }
      if (batch.length > 0 && !result.aborted) {
        if (signal?.aborted) result.aborted = true;
        else step(batch, epoch);
      }
      const epochLosses = result.lossHistory.slice(lossStart);
      if (epochLosses.length)
        result.epochLoss.push(epochLosses.reduce((a, b) => a + b, 0) / epochLosses.length);
      if (!result.aborted && o.onEpochEnd) {
        const epochLoss = result.epochLoss[result.epochLoss.length - 1] ?? NaN;
        if ((await o.onEpochEnd(epoch, epochLoss)) === 'stop') {
          result.stoppedEarly = true;
          break;
        }
      }
    }
  } finally {
    optimizer.dispose();
  }
  // The evidence growth is chosen outside meta-training (it shaped the episodes here): kept.
  model.adaptDefaults = {
    ...model.adaptDefaults,
    steps: o.innerSteps,
    lr: o.innerLr,
    ridge: o.innerRidge ?? null,
  };
  model.training = {
    algorithm: o.algorithm,
    innerSteps: o.innerSteps,
    innerLr: o.innerLr,
    innerRidge: o.innerRidge ?? null,
    ...(sizes !== 'full' && { supportSizes: sizes }),
    ...(model.config.bayesHead && { bayesLoss: o.bayesLoss ?? 'nll' }),
    outerLr: o.outerLr,
    metaBatchSize: o.metaBatchSize,
    epochs: o.epochs,
    seed: o.seed,
    tasks: result.tasks,
    metaBatches: result.metaBatches,
    finalLoss: result.lossHistory[result.lossHistory.length - 1],
  };
  return result;
}
