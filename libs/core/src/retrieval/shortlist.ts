/**
 * Two-stage ranking for large candidate sets (a catalog's pages): a first stage scores every
 * candidate by one dot product, the user's adapted head against the item's trunk features for
 * the reference user (EncodedItems.retrieval, precomputed per model version); the network then
 * scores exactly only the best `size` of them. The network's cost per candidate is a product per
 * decision layer ([64, 64]: about 4,200 multiply-adds); the first stage's is H (64), so a 100k
 * catalog costs a scan plus a few thousand exact scores instead of 100k.
 *
 * The first stage differs from the network only through the first layer's user half: exact when
 * the trunk ignores the user (no user features, no user IDs: then the network is skipped and the
 * scan is the whole cost), an approximation otherwise, whose overlap with exhaustive scoring the
 * serving benchmark measures.
 */
import * as tf from '@tensorflow/tfjs-core';
import { reportedScore, userScoringParts, type AdaptedUsers } from '../adapt';
import { ValidationError } from '../errors';
import type { EncodedItems } from '../model/encoded-items';
import { trunkIgnoresUser } from '../model/layout';
import type { RecommenderModel } from '../model/model';
import { sharedTrunkFeatures } from '../model/network';
import { hostMatMul } from '../native-kernels';
import { addNeighbourScores, neighbourScoreAt, neighbourScores } from '../neighbours/neighbourhood';
import { addContentScores, contentScoreAt } from '../neighbours/content';
import { kthLargest } from './kth-largest';

export interface ShortlistOptions {
  /** Candidates the first stage passes to the network; every candidate when the sets hold fewer. */
  size: number;
  /** Per set (aligned with the sets), rows never to return, e.g. the items the user has seen. */
  exclude?: readonly (Iterable<number> | undefined)[];
  /** Return only the best `top` of the shortlist (default: all of it). */
  top?: number;
}

/** One shortlisted candidate: row `row` of set `set`, with its exact score. */
export interface ShortlistEntry {
  set: number;
  row: number;
  /** What `score` reports for it: a clamped rating, a probability or a ranking logit. */
  score: number;
}

/**
 * Whether two-stage ranking applies to these users and sets: a shared first layer (the user half
 * exists) and sets encoded with retrieval features (a shared trunk of two or more decision
 * layers; with one, exact scoring already costs one dot product per candidate).
 */
export function canShortlist(adapted: AdaptedUsers, sets: readonly EncodedItems[]): boolean {
  return (
    adapted.model.shortlists &&
    adapted.userPre0 !== null &&
    sets.every((s) => s.has('retrieval') && s.has('offset'))
  );
}

/**
 * The best `options.size` candidates of `sets` for user `userIndex` by the first stage, scored
 * exactly by the network and ordered best first (by the unclamped prediction; ties keep set and
 * row order). Every returned score equals `score(adapted, userIndex, sets[set])[row]` up to float
 * rounding.
 */
export function rankShortlist(
  adapted: AdaptedUsers,
  userIndex: number,
  sets: readonly EncodedItems[],
  options: ShortlistOptions,
): ShortlistEntry[] {
  const { size, exclude, top = size } = options;
  if (!(Number.isInteger(size) && size >= 1))
    throw new ValidationError('options.size', 'must be an integer >= 1');
  if (!(Number.isInteger(top) && top >= 0))
    throw new ValidationError('options.top', 'must be an integer >= 0');
  const model = adapted.model;
  sets.forEach((set, s) => {
    if (set.model !== model || set.modelVersion !== model.version)
      throw new ValidationError(`sets[${s}]`, 'were encoded for another model or version');
  });
  if (!canShortlist(adapted, sets))
    throw new ValidationError(
      'sets',
      'have no retrieval features (the model needs a shared trunk of two or more decision layers)',
    );
  const parts = userScoringParts(adapted, userIndex)!;
  // The neighbourhood term (0 without one) joins both stages: the first stage ranks by it too.
  const neighbours = neighbourScores(model, adapted.supportItems?.[userIndex]);
  const profile = adapted.contentProfiles?.[userIndex] ?? null;
  const extra = (set: EncodedItems, view: Float32Array) => {
    addNeighbourScores(neighbours, set, view);
    addContentScores(model, profile, set, view);
  };
  const { proxy, starts } = firstStage(sets, parts.w, exclude, extra);
  // An exact first stage already orders the shortlist as the network would: its best `top` are
  // the answer, and the network's pass over the shortlist would only repeat its scores.
  const exact = firstStageIsExact(model);
  if (exact && top === 0) return [];
  const picks = bestRows(proxy, starts, exact ? Math.min(top, size) : size);
  if (picks.set.length === 0) return [];
  const raw = exact
    ? firstStageScores(proxy, starts, picks, parts.b)
    : exactScores(adapted, sets, picks, parts);
  if ((neighbours || profile) && !exact) {
    for (let i = 0; i < raw.length; i++) {
      const set = sets[picks.set[i] as number]!;
      const row = picks.row[i] as number;
      raw[i] += neighbourScoreAt(neighbours, set, row) + contentScoreAt(model, profile, set, row);
    }
  }
  const order = bestFirst(raw, top);
  return order.map((i) => ({
    set: picks.set[i] as number,
    row: picks.row[i] as number,
    score: reportedScore(model, raw[i] as number),
  }));
}

/**
 * Whether the first stage's scores are the network's own (plus the head's bias): a shortlisting
 * model whose trunk ignores the user (no user features, no user IDs), so every user's trunk
 * features of an item are the reference user's. Then rankShortlist skips the network and its
 * cost is the scan.
 */
export function firstStageIsExact(model: RecommenderModel): boolean {
  return model.shortlists && trunkIgnoresUser(model.layout);
}

/** The network's unclamped predictions of the picked rows, from an exact first stage. */
function firstStageScores(
  proxy: Float32Array,
  starts: Int32Array,
  picks: { set: Int32Array; row: Int32Array },
  bias: number,
): Float32Array {
  return Float32Array.from(
    picks.set,
    (s, i) => (proxy[(starts[s] as number) + (picks.row[i] as number)] as number) + bias,
  );
}

/** Scratch for the first stage's scores and the gathered rows, reused across calls (scoring is synchronous). */
let scratch = new Float32Array(0);
let gathered = new Float32Array(0);

/**
 * First-stage scores of every candidate, concatenated over the sets: [retrieval features, offset]
 * . [head, 1] (the head's bias is the same for all, so it is left out) plus the neighbourhood
 * terms (`extra`); excluded rows -Infinity.
 * The returned array is scratch, valid until the next call.
 */
function firstStage(
  sets: readonly EncodedItems[],
  w: Float32Array,
  exclude: ShortlistOptions['exclude'],
  extra: (set: EncodedItems, view: Float32Array) => void,
): { proxy: Float32Array; starts: Int32Array } {
  const starts = new Int32Array(sets.length + 1);
  sets.forEach((set, s) => (starts[s + 1] = (starts[s] as number) + set.size));
  const total = starts[sets.length] as number;
  if (scratch.length < total) scratch = new Float32Array(Math.max(total, 2 * scratch.length));
  const proxy = scratch.subarray(0, total);
  const head = new Float32Array(w.length + 1);
  head.set(w);
  head[w.length] = 1;
  sets.forEach((set, s) => {
    const n = set.size;
    if (n === 0) return;
    const view = proxy.subarray(starts[s] as number, (starts[s] as number) + n);
    hostMatMul(set.hostValues('retrieval'), head, view, n, head.length, 1);
    extra(set, view);
    for (const row of exclude?.[s] ?? []) if (row >= 0 && row < n) view[row] = -Infinity;
  });
  return { proxy, starts };
}

/** Values sampled to estimate the cut (see bestRows). */
const SAMPLE = 4096;

/**
 * The (set, row) of the `size` highest first-stage scores (excluded rows never), in order. The
 * cut is estimated from an evenly spaced sample with a margin, the candidates at or above it
 * collected in one pass, and the exact cut found among them alone; when the estimate keeps too
 * few, the exact cut over all scores.
 */
function bestRows(
  proxy: Float32Array,
  starts: Int32Array,
  size: number,
): { set: Int32Array; row: Int32Array } {
  const n = proxy.length;
  let candidates: Int32Array | undefined;
  if (size * 4 < n) {
    const s = Math.min(n, SAMPLE);
    const sample = new Float32Array(s);
    for (let j = 0; j < s; j++) sample[j] = proxy[Math.floor((j * n) / s)] as number;
    // The sample's value with about twice `size` of the whole above it (plus a few).
    const estimate = kthLargest(sample, Math.min(s, Math.ceil(((2 * size) / n) * s) + 8));
    candidates = atLeast(proxy, estimate);
    if (candidates.length < size) candidates = undefined;
  }
  candidates ??= atLeast(proxy, -Infinity);
  const values = new Float32Array(candidates.length);
  for (let c = 0; c < candidates.length; c++) values[c] = proxy[candidates[c] as number] as number;
  const m = Math.min(size, candidates.length);
  // Above the cut: taken; at it: taken in order until m (ties at the cut).
  const cut = m === candidates.length ? -Infinity : kthLargest(values, m);
  let ties = m;
  for (const v of values) if (v > cut) ties--;
  const set = new Int32Array(m);
  const row = new Int32Array(m);
  let taken = 0;
  let at = 0;
  for (let c = 0; c < candidates.length && taken < m; c++) {
    const v = values[c] as number;
    if (v < cut || (v === cut && ties-- <= 0)) continue;
    const i = candidates[c] as number;
    while (i >= (starts[at + 1] as number)) at++;
    set[taken] = at;
    row[taken] = i - (starts[at] as number);
    taken++;
  }
  return { set, row };
}

/** Indices of the `top` highest values, best first (ties in index order); only those are sorted. */
function bestFirst(values: Float32Array, top: number): number[] {
  const n = values.length;
  const cut = top >= n ? -Infinity : top === 0 ? Infinity : kthLargest(values, top);
  let ties = Math.min(top, n);
  for (let i = 0; i < n; i++) if ((values[i] as number) > cut) ties--;
  const kept: number[] = [];
  for (let i = 0; i < n && kept.length < top; i++) {
    const v = values[i] as number;
    if (v > cut || (v === cut && ties-- > 0)) kept.push(i);
  }
  return kept.sort((a, b) => (values[b] as number) - (values[a] as number) || a - b);
}

/** Indices of the values at or above `cut` (never -Infinity: excluded rows), in order. */
function atLeast(values: Float32Array, cut: number): Int32Array {
  const kept: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (v >= cut && v > -Infinity) kept.push(i);
  }
  return Int32Array.from(kept);
}

/** The network's unclamped predictions on the picked rows: their pre0 rows through the trunk. */
function exactScores(
  adapted: AdaptedUsers,
  sets: readonly EncodedItems[],
  picks: { set: Int32Array; row: Int32Array },
  parts: { userPre0: Float32Array; w: Float32Array; b: number },
): Float32Array {
  const m = picks.set.length;
  const h0 = parts.userPre0.length;
  if (gathered.length < m * h0) gathered = new Float32Array(Math.max(m * h0, 2 * gathered.length));
  // Copied into the backend by tf.tensor3d below, so the scratch is free again after it.
  const pre0 = gathered.subarray(0, m * h0);
  const offset = new Float32Array(m);
  const rows = sets.map((set) => (set.size > 0 ? set.hostRows('pre0') : undefined));
  const offsets = sets.map((set) => (set.size > 0 ? set.hostValues('offset') : undefined));
  for (let i = 0; i < m; i++) {
    const s = picks.set[i] as number;
    const r = picks.row[i] as number;
    const from = rows[s]!;
    const values = from.values[from.src ? (from.src[r] as number) : 0] as Float32Array;
    const at = (from.row ? (from.row[r] as number) : r) * h0;
    // An element loop: a subarray view per row (thousands a call) cost more than the copy.
    for (let k = 0, to = i * h0; k < h0; k++) pre0[to + k] = values[at + k] as number;
    offset[i] = offsets[s]![r] as number;
  }
  const model = adapted.model;
  const h = parts.w.length;
  const z = tf.tidy(() => {
    const features = sharedTrunkFeatures(
      model.layout,
      model.globals(),
      tf.tensor3d(pre0, [1, m, h0]),
      tf.tensor3d(parts.userPre0, [1, 1, h0]),
    );
    return tf.matMul(tf.reshape(features, [m, h]), tf.tensor2d(parts.w, [h, 1]));
  });
  const out = z.dataSync() as Float32Array;
  z.dispose();
  const raw = new Float32Array(m);
  for (let i = 0; i < m; i++) raw[i] = (out[i] as number) + parts.b + (offset[i] as number);
  return raw;
}
