/**
 * The catalog that negatives are sampled from for implicit feedback: item ids, each with a sampling
 * weight (popularity^0.75 or 1) and its encoded feature row. The rows travel with the model (and
 * its artifact), so serving samples and encodes negatives without reading any item record.
 */
import { ValidationError } from '../errors';
import type { Rng } from '../rng';

/** How negatives are drawn: by popularity^0.75 (word2vec's smoothing) or uniformly over the catalog. */
export type NegativeDistribution = 'popularity' | 'uniform';
export const NEGATIVE_DISTRIBUTIONS: readonly NegativeDistribution[] = ['popularity', 'uniform'];

/** Serialised form (the artifact's negatives.json). */
export interface NegativePoolJSON {
  distribution: NegativeDistribution;
  ids: string[];
  /** Sampling weight of each id (relative). */
  weights: number[];
  /** Encoded feature rows, `width` float32 values per id, little-endian, base64. */
  rows: string;
  width: number;
}

export class NegativePool {
  /** Cumulative weights, for sampling by binary search. */
  private readonly cumulative: Float64Array;
  /** Each id's encoded feature row (views into `rows`). */
  readonly rowOf: ReadonlyMap<string, Float32Array>;

  constructor(
    readonly distribution: NegativeDistribution,
    readonly ids: readonly string[],
    readonly weights: Float64Array,
    /** Encoded feature rows [ids.length, width]. */
    readonly rows: Float32Array,
    readonly width: number,
  ) {
    if (ids.length === 0) throw new ValidationError('negatives', 'the pool needs at least one item');
    if (weights.length !== ids.length || rows.length !== ids.length * width)
      throw new ValidationError('negatives', 'ids, weights and rows must have the same length');
    this.cumulative = new Float64Array(ids.length);
    let sum = 0;
    weights.forEach((w, i) => {
      if (!(Number.isFinite(w) && w > 0))
        throw new ValidationError(`negatives.weights[${i}]`, 'must be a finite number > 0');
      sum += w;
      this.cumulative[i] = sum;
    });
    this.rowOf = new Map(ids.map((id, i) => [id, rows.subarray(i * width, (i + 1) * width)]));
  }

  get size(): number {
    return this.ids.length;
  }

  /** Bytes the pool holds (rows and weights). */
  get bytes(): number {
    return this.rows.byteLength + this.weights.byteLength + this.cumulative.byteLength;
  }

  /**
   * `count` item ids drawn with replacement by weight, skipping ids in `exclude` (the user's own
   * items). Gives up on a draw after a few rejections, so a user who has most of a small pool
   * gets fewer negatives rather than a long loop.
   */
  sample(rng: Rng, count: number, exclude: ReadonlySet<string>): string[] {
    const out: string[] = [];
    const total = this.cumulative[this.cumulative.length - 1];
    for (let k = 0; k < count; k++) {
      for (let attempt = 0; attempt < 8; attempt++) {
        const id = this.ids[this.find(rng.next() * total)];
        if (exclude.has(id)) continue;
        out.push(id);
        break;
      }
    }
    return out;
  }

  /** Index of the first cumulative weight above u. */
  private find(u: number): number {
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid] > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  toJSON(): NegativePoolJSON {
    return {
      distribution: this.distribution,
      ids: [...this.ids],
      weights: Array.from(this.weights),
      rows: Buffer.from(this.rows.buffer, this.rows.byteOffset, this.rows.byteLength).toString('base64'),
      width: this.width,
    };
  }

  /** Restores a pool from {@link toJSON}; `width` must be the model's item row width. */
  static fromJSON(json: NegativePoolJSON, width: number): NegativePool {
    if (!json || typeof json !== 'object') throw new ValidationError('negatives', 'must be an object');
    if (!NEGATIVE_DISTRIBUTIONS.includes(json.distribution))
      throw new ValidationError('negatives.distribution', `must be ${NEGATIVE_DISTRIBUTIONS.join(' or ')}`);
    if (!Array.isArray(json.ids) || json.ids.some((id) => typeof id !== 'string'))
      throw new ValidationError('negatives.ids', 'must be an array of item ids');
    if (new Set(json.ids).size !== json.ids.length)
      throw new ValidationError('negatives.ids', 'has duplicate item ids');
    if (!Array.isArray(json.weights) || json.weights.length !== json.ids.length)
      throw new ValidationError('negatives.weights', 'must have one weight per id');
    if (json.width !== width)
      throw new ValidationError('negatives.width', `is ${json.width}, the model's item rows have ${width}`);
    if (typeof json.rows !== 'string') throw new ValidationError('negatives.rows', 'must be base64');
    const bytes = Buffer.from(json.rows, 'base64');
    if (bytes.length !== json.ids.length * width * 4)
      throw new ValidationError('negatives.rows', `must hold ${json.ids.length} x ${width} float32 values`);
    // Copied into an aligned buffer of its own.
    const rows = new Float32Array(json.ids.length * width);
    new Uint8Array(rows.buffer).set(bytes);
    if (rows.some((v) => !Number.isFinite(v)))
      throw new ValidationError('negatives.rows', 'must be finite numbers');
    return new NegativePool(json.distribution, json.ids, Float64Array.from(json.weights), rows, width);
  }
}
