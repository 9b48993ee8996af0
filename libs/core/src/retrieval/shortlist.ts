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
 *
 * The scan reads every row once for one multiply-add per value, so memory bandwidth bounds it:
 * large sets are scanned from a half-precision copy (EncodedItems.hostHalf, half the bytes) when
 * the native kernels run (WARMSTART_HALF_SCAN=off turns it off). Where the first stage's scores
 * are the answer, the rows the rounding could have moved across the cut are scored again in
 * float32, so the result is the float32 scan's exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { reportedScore, userScoringParts, type AdaptedUsers } from '../adapt';
import { ValidationError } from '../errors';
import type { EncodedItems } from '../model/encoded-items';
import { trunkIgnoresUser } from '../model/layout';
import type { RecommenderModel } from '../model/model';
import { sharedTrunkFeatures } from '../model/network';
import { halfScanError, hostHalfMatVec, hostMatMul, hostRowsAtLeast } from '../native-kernels';
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
  // An exact first stage already orders the shortlist as the network would: its best `top` are
  // the answer, and the network's pass over the shortlist would only repeat its scores.
  const exact = firstStageIsExact(model);
  if (exact && top === 0) return [];
  let stage = firstStage(sets, parts.w, exclude, extra, halfScanEnabled());
  // Where half scores will be made exact, the picks' pool also holds the rows within the
  // rescoring margin below the cut (so that no second pass over the scores is needed).
  const margin = exact ? rescoreMargin(stage.error, 0) : 0;
  const first = bestRows(stage.proxy, stage.starts, exact ? Math.min(top, size) : size, margin);
  let picks: Pick<Picks, 'set' | 'row'> = first;
  if (picks.set.length === 0) return [];
  let raw: Float32Array;
  if (!exact) raw = exactScores(adapted, sets, picks, parts);
  else {
    const rescored =
      stage.error === 0
        ? null
        : rescoreHalfScan(sets, stage, first, parts.b, (set, row) => [
            neighbourScoreAt(neighbours, set, row),
            contentScoreAt(model, profile, set, row),
          ]);
    if (rescored) ({ picks, raw } = rescored);
    else {
      // Too many rows near the cut to score again (scores packed within the rounding): the
      // float32 scan instead.
      if (stage.error > 0) {
        stage = firstStage(sets, parts.w, exclude, extra, false);
        picks = bestRows(stage.proxy, stage.starts, Math.min(top, size));
      }
      raw = firstStageScores(stage.proxy, stage.starts, picks, parts.b);
    }
  }
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

/** Sets at least this large are scanned from their half-precision copy (below, it never pays). */
const HALF_SCAN_MIN_ROWS = 512;

function halfScanEnabled(): boolean {
  return !/^(off|0|false)$/i.test(process.env.WARMSTART_HALF_SCAN ?? '');
}

/** The first stage's scores over all sets (scratch), where each set starts, and the head used. */
interface FirstStage {
  proxy: Float32Array;
  starts: Int32Array;
  head: Float32Array;
  /** Bound on |score - the float32 scan's score| (0: every set was scanned in float32). */
  error: number;
}

/** Rows scored again in float32 at most (beyond, the float32 scan is as cheap). */
const MAX_RESCORED = 4096;

/**
 * First-stage scores of every candidate, concatenated over the sets: [retrieval features, offset]
 * . [head, 1] (the head's bias is the same for all, so it is left out) plus the neighbourhood
 * terms (`extra`); excluded rows -Infinity. Large sets are read from their half-precision copy;
 * `error` bounds how far any score is from the float32 scan's (0 when every set was float32).
 * The returned array is scratch, valid until the next call.
 */
function firstStage(
  sets: readonly EncodedItems[],
  w: Float32Array,
  exclude: ShortlistOptions['exclude'],
  extra: (set: EncodedItems, view: Float32Array) => void,
  useHalf: boolean,
): FirstStage {
  const starts = new Int32Array(sets.length + 1);
  sets.forEach((set, s) => (starts[s + 1] = (starts[s] as number) + set.size));
  const total = starts[sets.length] as number;
  if (scratch.length < total) scratch = new Float32Array(Math.max(total, 2 * scratch.length));
  const proxy = scratch.subarray(0, total);
  const head = new Float32Array(w.length + 1);
  head.set(w);
  head[w.length] = 1;
  let maxRowNorm = -1;
  sets.forEach((set, s) => {
    const n = set.size;
    if (n === 0) return;
    const view = proxy.subarray(starts[s] as number, (starts[s] as number) + n);
    const half = useHalf && n >= HALF_SCAN_MIN_ROWS ? set.hostHalf('retrieval') : null;
    if (half) {
      hostHalfMatVec(half.values, head, view, n, head.length);
      maxRowNorm = Math.max(maxRowNorm, half.maxRowNorm);
    } else hostMatMul(set.hostValues('retrieval'), head, view, n, head.length, 1);
    extra(set, view);
    for (const row of exclude?.[s] ?? []) if (row >= 0 && row < n) view[row] = -Infinity;
  });
  const error = maxRowNorm < 0 ? 0 : halfScanError(head, maxRowNorm);
  return { proxy, starts, head, error };
}

/**
 * The best picks of an exact first stage read from halves, made exact: every row whose half
 * score lies within twice the error bound of the picks' cut could belong to the float32 scan's
 * best (its score is within `error` of its float32 one, and so is the cut), so those rows are
 * scored again in float32 exactly as the scan adds them up (the same kernel row, then the extra
 * terms, each rounded to float32), and the best `picks.length` of them are returned, ties in
 * (set, row) order: the float32 scan's picks and scores. Null when more than MAX_RESCORED rows
 * are that close.
 */
function rescoreHalfScan(
  sets: readonly EncodedItems[],
  stage: FirstStage,
  picks: Picks,
  bias: number,
  extraAt: (set: EncodedItems, row: number) => readonly number[],
): { picks: { set: Int32Array; row: Int32Array }; raw: Float32Array } | null {
  const { proxy, starts, head, error } = stage;
  let cut = Infinity;
  for (let i = 0; i < picks.set.length; i++)
    cut = Math.min(
      cut,
      proxy[(starts[picks.set[i] as number] as number) + (picks.row[i] as number)] as number,
    );
  const floor = cut - rescoreMargin(error, cut);
  // The rows bestRows chose from hold every row above the floor when theirs is lower.
  const candidates =
    picks.pool.from <= floor
      ? picks.pool.rows.filter((i) => (proxy[i] as number) >= floor)
      : hostRowsAtLeast(proxy, floor);
  if (candidates.length > MAX_RESCORED) return null;
  // Their float32 rows, gathered: one product computes each row as the scan's kernel does.
  const k = head.length;
  const rows = new Float32Array(candidates.length * k);
  const set = new Int32Array(candidates.length);
  const row = new Int32Array(candidates.length);
  let at = 0;
  let values = sets[0]!.size > 0 ? sets[0]!.hostValues('retrieval') : new Float32Array(0);
  for (let c = 0; c < candidates.length; c++) {
    const flat = candidates[c] as number;
    if (flat >= (starts[at + 1] as number)) {
      while (flat >= (starts[at + 1] as number)) at++;
      values = sets[at]!.hostValues('retrieval');
    }
    const r = flat - (starts[at] as number);
    for (let j = 0; j < k; j++) rows[c * k + j] = values[r * k + j] as number;
    set[c] = at;
    row[c] = r;
  }
  const scores = new Float32Array(candidates.length);
  hostMatMul(rows, head, scores, candidates.length, k, 1);
  for (let c = 0; c < candidates.length; c++)
    for (const v of extraAt(sets[set[c] as number]!, row[c] as number)) scores[c] += v;
  // In (set, row) order, as bestRows returns picks (the caller orders them, ties by that order).
  const best = bestFirst(scores, picks.set.length).sort((a, b) => a - b);
  return {
    picks: {
      set: Int32Array.from(best, (i) => set[i] as number),
      row: Int32Array.from(best, (i) => row[i] as number),
    },
    raw: Float32Array.from(best, (i) => (scores[i] as number) + bias),
  };
}

/**
 * How far below the cut a row's half score may lie and its float32 score still reach the cut:
 * `error` on either side, plus the float32 roundings of adding the extra terms to both (a few
 * units in the last place of scores near `cut`).
 */
function rescoreMargin(error: number, cut: number): number {
  return error === 0 ? 0 : 2 * error + 2 ** -20 * Math.abs(cut);
}

/** Picked rows (set, row), and every row at or above `pool.from` they were picked from. */
interface Picks {
  set: Int32Array;
  row: Int32Array;
  pool: { rows: Int32Array; from: number };
}

/** Values sampled to estimate the cut (see bestRows). */
const SAMPLE = 4096;

/**
 * The (set, row) of the `size` highest first-stage scores (excluded rows never), in order. The
 * cut is estimated from an evenly spaced sample with a margin, the candidates at or above it
 * collected in one pass, and the exact cut found among them alone; when the estimate keeps too
 * few, the exact cut over all scores.
 */
function bestRows(proxy: Float32Array, starts: Int32Array, size: number, margin = 0): Picks {
  const n = proxy.length;
  let candidates: Int32Array | undefined;
  let floor = -Infinity;
  if (size * 4 < n) {
    const s = Math.min(n, SAMPLE);
    const sample = new Float32Array(s);
    for (let j = 0; j < s; j++) sample[j] = proxy[Math.floor((j * n) / s)] as number;
    // The sample's value with about twice `size` of the whole above it (plus a few).
    const estimate = kthLargest(sample, Math.min(s, Math.ceil(((2 * size) / n) * s) + 8)) - margin;
    candidates = hostRowsAtLeast(proxy, estimate);
    floor = estimate;
    if (candidates.length < size) {
      candidates = undefined;
      floor = -Infinity;
    }
  }
  candidates ??= hostRowsAtLeast(proxy, -Infinity);
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
  return { set, row, pool: { rows: candidates, from: floor } };
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
