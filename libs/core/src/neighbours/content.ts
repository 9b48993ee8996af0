/**
 * The content neighbourhood of a ranking model: what stands in for the item neighbourhood
 * (neighbourhood.ts) for items the model has no ID row for, i.e. items added after training.
 * Such an item has no co-occurrences yet, but it has content; its score gains
 *
 *   weight * sum_{j in S_u} cos(c_i, c_j),
 *
 * the cosine of its content vector to each of the user's support items' (content-kNN). A content
 * vector is the item's encoded row (features/encoder.ts) restricted to its vocabulary and bucket
 * columns (a genre, a word, a bucket; not the missing slots, not standardised numbers), each
 * column weighted by its inverse document frequency over the training catalog (a rare genre says
 * more than a common one; a value held by fewer than two items, which can match nothing, weighs
 * 0), normalised to unit length. The sum over the support is one dot product with the user's
 * content profile, the sum of the support items' vectors, computed once per adaptation.
 */
import { ValidationError } from '../errors';
import { encodeRows } from '../features/encoder';
import type { EncodedItems } from '../model/encoded-items';
import type { RecommenderModel } from '../model/model';
import type { ItemRecord } from '../types';

/** The content neighbourhood of a model: column weights of the item rows and the term's weight. */
export interface ContentNeighbourhood {
  /** Per column of the model's item rows: its IDF weight (0: not content). */
  idf: Float32Array;
  /** The term's weight (>= 0). */
  weight: number;
}

/** A sparse vector over item-row columns. */
export interface ContentVector {
  cols: Int32Array;
  vals: Float32Array;
}

/**
 * IDF weights of the model's item-row columns over `catalog`: log((1 + n) / (1 + df)) + 1 for a
 * vocabulary or bucket column held by at least two of the n items with content, 0 otherwise.
 */
export function fitContentIdf(model: RecommenderModel, catalog: readonly ItemRecord[]): Float32Array {
  const spec = model.spec.item;
  const content = new Uint8Array(spec.width);
  for (const f of spec.fields) {
    if (f.kind === 'numeric') continue;
    // Column 0 of a vocabulary or bucketized field is its missing / out-of-vocabulary slot.
    for (let c = f.offset + 1; c < f.offset + f.width; c++) content[c] = 1;
  }
  const idf = new Float32Array(spec.width);
  if (catalog.length === 0 || spec.fields.length === 0) return idf;
  const rows = encodeRows(spec, catalog);
  const df = new Float64Array(spec.width);
  let n = 0;
  for (let i = 0; i < catalog.length; i++) {
    let any = false;
    for (let c = 0, at = i * spec.width; c < spec.width; c++, at++) {
      if (content[c] && rows[at] !== 0) {
        df[c]++;
        any = true;
      }
    }
    if (any) n++;
  }
  for (let c = 0; c < spec.width; c++)
    if (content[c] && df[c] >= 2) idf[c] = Math.log((1 + n) / (1 + df[c])) + 1;
  return idf;
}

/**
 * Attaches a content neighbourhood to a ranking model (implicit with `config.negatives`); null
 * detaches it. `idf` must have one weight per item-row column.
 */
export function setContentNeighbourhood(model: RecommenderModel, content: ContentNeighbourhood | null): void {
  if (content) {
    if (!model.rankingScores)
      throw new ValidationError(
        'model',
        'a content neighbourhood is for ranking models (implicit, config.negatives)',
      );
    if (content.idf.length !== model.spec.item.width)
      throw new ValidationError(
        'contentNeighbourhood.idf',
        `must hold ${model.spec.item.width} weights (one per item column)`,
      );
    if (!content.idf.every((v) => Number.isFinite(v) && v >= 0))
      throw new ValidationError('contentNeighbourhood.idf', 'must be finite numbers >= 0');
    if (!(Number.isFinite(content.weight) && content.weight >= 0))
      throw new ValidationError('contentNeighbourhood.weight', 'must be a finite number >= 0');
  }
  model.contentNeighbourhood = content;
}

/** The unit content vector of one encoded row (`width` values of `values` from `at`); null when empty. */
function contentVector(idf: Float32Array, values: Float32Array, at: number): ContentVector | null {
  const cols: number[] = [];
  const vals: number[] = [];
  let norm = 0;
  for (let c = 0; c < idf.length; c++) {
    const v = (values[at + c] as number) * (idf[c] as number);
    if (v === 0) continue;
    cols.push(c);
    vals.push(v);
    norm += v * v;
  }
  if (norm === 0) return null;
  const scale = 1 / Math.sqrt(norm);
  return { cols: Int32Array.from(cols), vals: Float32Array.from(vals, (v) => v * scale) };
}

/**
 * A user's content profile: the sum of the unit content vectors of the distinct `records` (the
 * support items); null without a content neighbourhood or when none has content.
 */
export function contentProfile(model: RecommenderModel, records: readonly ItemRecord[]): Float32Array | null {
  const cn = model.contentNeighbourhood;
  if (!cn || cn.weight === 0 || records.length === 0) return null;
  const width = model.spec.item.width;
  const rows = encodeRows(model.spec.item, records);
  const profile = new Float32Array(width);
  let any = false;
  for (let i = 0; i < records.length; i++) {
    const v = contentVector(cn.idf, rows, i * width);
    if (!v) continue;
    any = true;
    for (let e = 0; e < v.cols.length; e++) profile[v.cols[e] as number] += v.vals[e] as number;
  }
  return any ? profile : null;
}

/** The unit content vectors of a set's rows without an ID row (the others: undefined), once per set. */
const coldVectors = new WeakMap<EncodedItems, Map<number, ContentVector>>();

function coldRows(set: EncodedItems, idf: Float32Array): Map<number, ContentVector> {
  let rows = coldVectors.get(set);
  if (rows) return rows;
  rows = new Map();
  const x = set.size > 0 ? set.hostRows('x') : null;
  for (let r = 0; r < set.size; r++) {
    if (set.model.itemIdIndex.has(set.ids[r] as string)) continue;
    const values = x!.values[x!.src ? (x!.src[r] as number) : 0] as Float32Array;
    const at = (x!.row ? (x!.row[r] as number) : r) * x!.width;
    const v = contentVector(idf, values, at);
    if (v) rows.set(r, v);
  }
  coldVectors.set(set, rows);
  return rows;
}

/**
 * Adds weight * (content vector . profile) to `out[offset + r]` for every row r of `set` without
 * an ID row (items added after training) that has content.
 */
export function addContentScores(
  model: RecommenderModel,
  profile: Float32Array | null | undefined,
  set: EncodedItems,
  out: Float32Array,
  offset = 0,
): void {
  const cn = model.contentNeighbourhood;
  if (!cn || cn.weight === 0 || !profile) return;
  for (const [r, v] of coldRows(set, cn.idf)) out[offset + r] += cn.weight * dot(v, profile);
}

/** The content score of row `row` of `set` (0 for an item with an ID row or without content). */
export function contentScoreAt(
  model: RecommenderModel,
  profile: Float32Array | null | undefined,
  set: EncodedItems,
  row: number,
): number {
  const cn = model.contentNeighbourhood;
  if (!cn || cn.weight === 0 || !profile) return 0;
  const v = coldRows(set, cn.idf).get(row);
  return v ? cn.weight * dot(v, profile) : 0;
}

/** A sparse content vector's dot product with a dense profile. */
function dot(v: ContentVector, profile: Float32Array): number {
  let sum = 0;
  for (let e = 0; e < v.cols.length; e++)
    sum += (v.vals[e] as number) * (profile[v.cols[e] as number] as number);
  return sum;
}
