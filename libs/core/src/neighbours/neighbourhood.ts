/**
 * The item neighbourhood term of a ranking model: "users who interacted with these also
 * interacted with" in its most direct form, item-kNN (cosine similarity of the items' user
 * columns in the training interactions, each item keeping its K most similar). A user's
 * neighbourhood score of item i is the sum of i's similarities to the user's support items; the
 * model adds it, weighted, to the network's ranking score:
 *
 *   score(u, i) = network(u, i) + weight * knn(u, i),   knn(u, i) = sum_{j in S_u} sim(i, j)
 *
 * The network's fold-in ranks by low-rank factors, which blur the sharp co-occurrences a
 * neighbourhood keeps (on MovieLens item-kNN out-ranks every factor model); the weight, chosen on
 * warm validation users (0 keeps the network alone), lets a dataset use as much of both as helps.
 * The sum is not normalised per user: it grows with the support as the fold-in's lift does with
 * its evidence growth (dividing it by its root mean square over the catalog, which inflates a
 * one-item user's few neighbours, lost validation NDCG@20 on hetrec-lastfm at every weight). New
 * items have no neighbourhood until the next training run: the term is 0 for them, and for users
 * with no known support item.
 */
import { ValidationError } from '../errors';
import type { EncodedItems } from '../model/encoded-items';
import type { RecommenderModel } from '../model/model';
import type { ItemNeighbours } from './item-neighbours';

/** The neighbourhood of a model: similarities over its item ID rows and the term's weight. */
export interface Neighbourhood {
  /** Neighbour lists indexed by the model's item ID rows (`model.itemIdIndex`, row 0 unused). */
  neighbours: ItemNeighbours;
  /** The term's weight (>= 0; 0: the network alone). */
  weight: number;
}

/**
 * Attaches a neighbourhood to a ranking model (implicit with `config.negatives`: raw logits); null detaches it. The neighbours must
 * index the model's item ID rows (size = items + 1). Scoring (score, scoreBatch, rankShortlist)
 * adds the term from then on; saveModel / loadModel keep it.
 */
export function setNeighbourhood(model: RecommenderModel, neighbourhood: Neighbourhood | null): void {
  if (neighbourhood) {
    if (!model.rankingScores)
      throw new ValidationError(
        'model',
        'a neighbourhood is for ranking models (implicit, config.negatives)',
      );
    if (neighbourhood.neighbours.size !== model.itemIdIndex.size + 1)
      throw new ValidationError(
        'neighbourhood.neighbours',
        `must index the model's ${model.itemIdIndex.size} item ID rows plus row 0`,
      );
    if (!(Number.isFinite(neighbourhood.weight) && neighbourhood.weight >= 0))
      throw new ValidationError('neighbourhood.weight', 'must be a finite number >= 0');
  }
  model.neighbourhood = neighbourhood;
}

/** The model item rows of a support set's items (known items once each, in first-seen order). */
export function supportRows(model: RecommenderModel, itemIds: readonly string[]): Int32Array {
  const rows = new Set<number>();
  for (const id of itemIds) {
    const row = model.itemIdIndex.get(id);
    if (row !== undefined) rows.add(row);
  }
  return Int32Array.from(rows);
}

/**
 * One user's weighted neighbourhood scores, weight * knn(u, i), by item row (only the items some
 * support item reaches); null when the term is off or nothing is reached.
 */
export function neighbourScores(
  model: RecommenderModel,
  support: Int32Array | undefined,
): Map<number, number> | null {
  const nb = model.neighbourhood;
  if (!nb || nb.weight === 0 || !support || support.length === 0) return null;
  const { ptr, items, sims } = nb.neighbours;
  const scores = new Map<number, number>();
  for (const j of support) {
    for (let e = ptr[j]; e < ptr[j + 1]; e++) {
      const i = items[e] as number;
      scores.set(i, (scores.get(i) ?? 0) + nb.weight * (sims[e] as number));
    }
  }
  return scores.size > 0 ? scores : null;
}

/** Rows of each item row in an encoded set: the first, then a chain through `next` (-1 ends it). */
interface RowIndex {
  first: Map<number, number>;
  next: Int32Array;
}

const rowIndexes = new WeakMap<EncodedItems, RowIndex>();

/** The set's rows by model item row, built once per encoded set. */
function rowIndex(set: EncodedItems): RowIndex {
  let index = rowIndexes.get(set);
  if (index) return index;
  const first = new Map<number, number>();
  const next = new Int32Array(set.size).fill(-1);
  for (let r = set.size - 1; r >= 0; r--) {
    const row = set.model.itemIdIndex.get(set.ids[r] as string);
    if (row === undefined) continue;
    const head = first.get(row);
    if (head !== undefined) next[r] = head;
    first.set(row, r);
  }
  index = { first, next };
  rowIndexes.set(set, index);
  return index;
}

/** Adds `scores` (neighbourScores) to `out[offset + r]` for every row r of `set` holding a reached item. */
export function addNeighbourScores(
  scores: Map<number, number> | null,
  set: EncodedItems,
  out: Float32Array,
  offset = 0,
): void {
  if (!scores) return;
  const { first, next } = rowIndex(set);
  // Iterate the smaller side: a user's reached items or the set's rows.
  if (scores.size <= first.size) {
    for (const [item, v] of scores) {
      for (let r = first.get(item) ?? -1; r >= 0; r = next[r] as number) out[offset + r] += v;
    }
  } else {
    for (const [item, r0] of first) {
      const v = scores.get(item);
      if (v === undefined) continue;
      for (let r = r0; r >= 0; r = next[r] as number) out[offset + r] += v;
    }
  }
}

/** The neighbourhood score of row `row` of `set` (0 when unreached). */
export function neighbourScoreAt(scores: Map<number, number> | null, set: EncodedItems, row: number): number {
  if (!scores) return 0;
  const item = set.model.itemIdIndex.get(set.ids[row] as string);
  return item === undefined ? 0 : (scores.get(item) ?? 0);
}
