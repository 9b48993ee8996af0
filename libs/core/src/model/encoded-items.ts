/**
 * Candidate items encoded once per model version and reused for every user scored against them:
 * feature rows plus everything item-side that does not depend on local parameters.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from '../errors';
import { encodeRows, type EncodeStats } from '../features/encoder';
import type { FeatureSpec } from '../features/spec';
import type { ItemRecord } from '../types';
import { hostToHalf, type HalfRows } from '../native-kernels';
import type { NetLayout } from './layout';
import {
  itemContent,
  itemIdRepr,
  sharedTrunkFeatures,
  userFirstLayer,
  userIdRepr,
  withContent,
} from './network';
import type { Params } from './params';
import type { WarmItemIds } from './warm-items';

/**
 * What encoding items reads of a model: RecommenderModel (model.ts) has all of it. Named here
 * rather than imported so that model.ts, which builds its EncodedItems, is not imported back.
 */
export interface ItemEncodingModel {
  readonly spec: FeatureSpec;
  readonly layout: NetLayout;
  readonly encodeStats: EncodeStats;
  readonly itemIdIndex: ReadonlyMap<string, number>;
  readonly globalMean: number;
  /** Bumped on every parameter change (see RecommenderModel.version). */
  readonly version: number;
  readonly contentIsGlobal: boolean;
  readonly firstLayerIsGlobal: boolean;
  readonly shortlists: boolean;
  globals(): Params;
}

/** The tensors of an encoded item set; row i of each belongs to item i. */
interface ItemTensors {
  /** Feature rows [N, di]. */
  x: tf.Tensor2D;
  /** Item content vectors [N, nItemFields * e] (null when embeddings are local). */
  content: tf.Tensor2D | null;
  /** ID representation [N, idDim + 1] (null without ID embeddings). */
  idRepr: tf.Tensor2D | null;
  /** While embeddings are global: first-layer item input [1, N, di'] and additive offset [1, N, 1]. */
  hidden: tf.Tensor3D | null;
  offset: tf.Tensor3D | null;
  /** While the first layer is global too (ANIL): hidden @ dec.0.w [1, N, h0]. */
  pre0: tf.Tensor3D | null;
  /**
   * With pre0 and two or more decision layers: the last decision layer's features for the
   * reference user and the offset, [N, H + 1], the first stage of two-stage ranking
   * (retrieval/shortlist.ts).
   */
  retrieval: tf.Tensor2D | null;
}

type Field = keyof ItemTensors;
const FIELDS: readonly Field[] = ['x', 'content', 'idRepr', 'hidden', 'offset', 'pre0', 'retrieval'];

/**
 * One field of a set: its tensor, its host values, or (for a selected set, until first read) how
 * to gather them. `width` values per item; `rank` 2 ([N, width]) or 3 ([1, N, width]).
 */
interface FieldState {
  width: number;
  rank: 2 | 3;
  tensor?: tf.Tensor;
  host?: Float32Array;
  gather?: () => Float32Array;
  /** A selected set's rows in its sources' host values (see EncodedItems.hostRows). */
  rows?: ItemRows;
  /** Half-precision copy (see EncodedItems.hostHalf); null when it cannot be made. */
  half?: HalfRows | null;
}

/**
 * Where each item's row of a field is, without copying: row i is `width` values of
 * `values[src[i]]` from `row[i] * width`; `src` and `row` null: row i of `values[0]`.
 */
export interface ItemRows {
  values: readonly Float32Array[];
  src: Uint32Array | null;
  row: Int32Array | null;
  width: number;
}

/** Candidate items encoded for one model version; reusable across users. Call `dispose()` when done. */
export class EncodedItems implements ItemTensors {
  private readonly fields: Record<Field, FieldState | null>;
  private disposed = false;

  private constructor(
    readonly model: ItemEncodingModel,
    readonly ids: string[],
    readonly modelVersion: number,
    fields: ItemTensors | Record<Field, FieldState | null>,
  ) {
    if (fields.x instanceof tf.Tensor) {
      const t = fields as ItemTensors;
      const n = ids.length;
      this.fields = {} as Record<Field, FieldState | null>;
      for (const f of FIELDS) {
        const tensor = t[f];
        this.fields[f] =
          tensor === null
            ? null
            : {
                width: n > 0 ? tensor.size / n : tensor.shape[tensor.rank - 1]!,
                rank: tensor.rank as 2 | 3,
                tensor,
              };
      }
    } else this.fields = fields as Record<Field, FieldState | null>;
  }

  /** Feature rows [N, di]. */
  get x(): tf.Tensor2D {
    return this.tensor('x') as tf.Tensor2D;
  }

  /** Item content vectors [N, nItemFields * e] (null when embeddings are local). */
  get content(): tf.Tensor2D | null {
    return this.tensor('content') as tf.Tensor2D | null;
  }

  /** ID representation [N, idDim + 1] (null without ID embeddings). */
  get idRepr(): tf.Tensor2D | null {
    return this.tensor('idRepr') as tf.Tensor2D | null;
  }

  /** While embeddings are global: first-layer item input [1, N, di']. */
  get hidden(): tf.Tensor3D | null {
    return this.tensor('hidden') as tf.Tensor3D | null;
  }

  /** While embeddings are global: additive offset [1, N, 1]. */
  get offset(): tf.Tensor3D | null {
    return this.tensor('offset') as tf.Tensor3D | null;
  }

  /** While the first layer is global too (ANIL): hidden @ dec.0.w [1, N, h0]. */
  get pre0(): tf.Tensor3D | null {
    return this.tensor('pre0') as tf.Tensor3D | null;
  }

  /** Reference-user trunk features and offset [N, H + 1] for two-stage ranking (null when the model has none). */
  get retrieval(): tf.Tensor2D | null {
    return this.tensor('retrieval') as tf.Tensor2D | null;
  }

  /** Whether the set has this field (without gathering or reading it). */
  has(field: Field): boolean {
    return this.fields[field] !== null;
  }

  /** Width of one item's row of a field (null when the set does not have it). */
  width(field: Field): number | null {
    return this.fields[field]?.width ?? null;
  }

  /** Encodes items for the model's current version. */
  static encode(
    model: ItemEncodingModel,
    items: readonly ItemRecord[],
    warmItems?: WarmItemIds,
  ): EncodedItems {
    const ids = items.map((i) => i.id);
    const warmed = warmRows(model, ids, warmItems);
    const rows = encodeRows(model.spec.item, items, model.encodeStats);
    const x = tf.tensor2d(rows, [items.length, model.layout.di]);
    const p = model.globals();
    const content = model.contentIsGlobal ? tf.tidy(() => itemContent(model.layout, p, x)) : null;
    let idRepr: tf.Tensor2D | null = null;
    if (model.layout.idDim > 0) {
      const idx = ids.map((id) => model.itemIdIndex.get(id) ?? 0);
      idRepr = tf.tidy(() => {
        const index = tf.tensor1d(idx, 'int32');
        const warm = tf.tensor1d(idx.map((i) => (i > 0 ? 1 : 0)));
        const repr = itemIdRepr(p, x, index, warm) as tf.Tensor2D;
        if (!warmed) return repr;
        // Warmed-up items (see warmUpItems) use their warmed row instead.
        const use = tf.tensor2d(warmed.use, [ids.length, 1]);
        const rows = tf.tensor2d(warmed.rows, repr.shape);
        return tf.add(tf.mul(repr, tf.sub(1, use)), tf.mul(rows, use)) as tf.Tensor2D;
      });
    }
    let hidden: tf.Tensor3D | null = null;
    let offset: tf.Tensor3D | null = null;
    let pre0: tf.Tensor3D | null = null;
    let retrieval: tf.Tensor2D | null = null;
    if (content) {
      [hidden, offset] = tf.tidy(() => {
        const inp = withContent(
          model.layout,
          p,
          {
            userX: tf.zeros([1, 1, model.layout.du]) as tf.Tensor3D,
            itemX: tf.expandDims(x, 0) as tf.Tensor3D,
            itemContent: tf.expandDims(content, 0) as tf.Tensor3D,
            itemId: idRepr ? (tf.expandDims(idRepr, 0) as tf.Tensor3D) : undefined,
            // The user half is not used here; with user IDs it still needs a (cold) row.
            userId:
              model.layout.userIdDim > 0
                ? (tf.zeros([1, 1, model.layout.userIdDim]) as tf.Tensor3D)
                : undefined,
          },
          model.globalMean,
        );
        return [inp.itemHidden!, inp.offset!] as [tf.Tensor3D, tf.Tensor3D];
      });
      if (model.firstLayerIsGlobal) {
        const h = hidden;
        pre0 = tf.tidy(() => {
          const [, n, w] = h.shape;
          const z = tf.matMul(tf.reshape(h, [n, w]), p['dec.0.w'] as tf.Tensor2D);
          return tf.reshape(z, [1, n, z.shape[1]!]) as tf.Tensor3D;
        });
        if (model.shortlists) retrieval = referenceTrunk(model, p, pre0, offset!);
      }
    }
    const set = new EncodedItems(model, ids, model.version, {
      x,
      content,
      idRepr,
      hidden,
      offset,
      pre0,
      retrieval,
    });
    // Only host code reads the retrieval features (retrieval/shortlist.ts): no backend copy kept.
    set.toHost('retrieval');
    // With a shared first layer, scoring reads only pre0 and offset: the other fields move to the
    // host (a tensor read makes them again), so a large catalog's pages do not fill the backend's
    // memory (the wasm heap stops at 4 GB: a 1M-item catalog did not fit with every field in it).
    if (pre0) for (const field of ['x', 'content', 'idRepr', 'hidden'] as const) set.toHost(field);
    // Two-stage ranking reads pre0 and offset on the host: copied now, not on the first request.
    if (retrieval) for (const field of ['pre0', 'offset'] as const) set.hostValues(field);
    return set;
  }

  /**
   * A new set made of rows of existing sets of the same model version, in the order given:
   * gathering precomputed rows is far cheaper than encoding the items again (the serving catalog
   * keeps every active item encoded). The sources stay owned by the caller.
   *
   * Rows are gathered lazily, field by field, on the host: a field is copied the first time it is
   * read (as a tensor, or as host values by scoring), so scoring a shared-trunk (ANIL) model on
   * the set copies only the first layer's item half `pre0` and the `offset`, not the feature
   * rows and item vectors it never reads. The sources' host values are referenced at selection
   * time, so the sources may be disposed right after this call.
   */
  static select(picks: readonly { source: EncodedItems; row: number }[]): EncodedItems {
    const count = picks.length;
    if (count === 0) throw new ValidationError('picks', 'must be non-empty');
    const first = picks[0].source;
    const { model, modelVersion } = first;
    // Each pick as (index of its source, row), validated in the same pass.
    const sources: EncodedItems[] = [first];
    const src = new Uint32Array(count);
    const row = new Int32Array(count);
    const ids = new Array<string>(count);
    let last = first;
    let lastIndex = 0;
    for (let i = 0; i < count; i++) {
      const { source, row: r } = picks[i];
      if (source !== last) {
        if (source.model !== model || source.modelVersion !== modelVersion)
          throw new ValidationError('picks', 'must come from one model version');
        lastIndex = sources.indexOf(source);
        if (lastIndex < 0) lastIndex = sources.push(source) - 1;
        last = source;
      }
      if (!(Number.isInteger(r) && r >= 0 && r < source.size))
        throw new ValidationError('picks', `row ${r} is out of range`);
      src[i] = lastIndex;
      row[i] = r;
      ids[i] = source.ids[r];
    }
    const fields = {} as Record<Field, FieldState | null>;
    for (const field of FIELDS) {
      const like = first.fields[field];
      if (like === null) {
        fields[field] = null;
        continue;
      }
      // The sources' host values (long-lived catalog pages read each field from the backend once).
      const values = sources.map((s) => s.hostValues(field));
      const width = like.width;
      fields[field] = {
        width,
        rank: like.rank,
        rows: { values, src, row, width },
        gather: () => gatherRows(values, src, row, width),
      };
    }
    return new EncodedItems(model, ids, modelVersion, fields);
  }

  /**
   * Host copy of one field's values (row-major, `width(field)` per item), read from the backend
   * or gathered once and kept (sets that are gathered from are long-lived; scoring reads the
   * small per-item fields of a one-layer shared trunk directly). Do not modify it.
   */
  hostValues(field: Field): Float32Array {
    const s = this.live(field);
    if (!s) throw new ValidationError('field', `${field} is not part of this item set`);
    if (!s.host) {
      if (s.gather) {
        s.host = s.gather();
        s.gather = undefined;
      } else s.host = s.tensor!.dataSync() as Float32Array;
    }
    return s.host;
  }

  /**
   * A half-precision copy of a field's host values for a memory-bound scan (the first stage of
   * two-stage ranking), made once and kept; null when the native kernels are off or a value does
   * not fit a half. Sets are immutable, so the copy never goes stale.
   */
  hostHalf(field: Field): HalfRows | null {
    const s = this.live(field);
    if (!s) throw new ValidationError('field', `${field} is not part of this item set`);
    if (s.half === undefined) s.half = hostToHalf(this.hostValues(field), s.width);
    return s.half;
  }

  /**
   * A field's rows as views into host values without gathering them (for a selected set: its
   * sources' values, so a scorer that reads each row once copies nothing). Do not modify them.
   */
  hostRows(field: Field): ItemRows {
    const s = this.live(field);
    if (!s) throw new ValidationError('field', `${field} is not part of this item set`);
    if (s.rows && !s.host) return s.rows;
    return { values: [this.hostValues(field)], src: null, row: null, width: s.width };
  }

  /** Reads a field to the host and frees its tensor (a later tensor read makes one again). */
  private toHost(field: Field): void {
    const s = this.fields[field];
    if (!s?.tensor) return;
    s.host = s.tensor.dataSync() as Float32Array;
    s.tensor.dispose();
    s.tensor = undefined;
  }

  private live(field: Field): FieldState | null {
    if (this.disposed) throw new ValidationError('items', 'have been disposed');
    return this.fields[field];
  }

  private tensor(field: Field): tf.Tensor | null {
    const s = this.live(field);
    if (!s) return null;
    if (!s.tensor) {
      const n = this.ids.length;
      const shape = s.rank === 3 ? [1, n, s.width] : [n, s.width];
      // Kept: the first read may happen inside a caller's tf.tidy.
      s.tensor = tf.keep(tf.tensor(this.hostValues(field), shape));
    }
    return s.tensor;
  }

  get size(): number {
    return this.ids.length;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const s of Object.values(this.fields)) {
      if (!s) continue;
      s.tensor?.dispose();
      s.tensor = undefined;
      s.host = undefined;
      s.gather = undefined;
      s.rows = undefined;
    }
  }
}

/**
 * The last decision layer's features of items (their first-layer halves `pre0`) for the
 * reference user, with the items' offset as a last column ([N, H + 1]): a head w and bias b then
 * give the first-stage score as one product with [w, 1] (+ b). The reference user has no feature
 * values (each field's default) and the cold-user ID row: exact for every user when the trunk
 * ignores the user (no user features, no user IDs), otherwise the first stage's approximation.
 */
function referenceTrunk(
  model: ItemEncodingModel,
  p: Params,
  pre0: tf.Tensor3D,
  offset: tf.Tensor3D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const l = model.layout;
    const userId = l.userIdDim > 0 ? userIdRepr(p, tf.tensor1d([0], 'int32')) : undefined;
    const row = encodeRows(model.spec.user, [{ features: {} }]);
    const user = userFirstLayer(l, p, tf.tensor3d(row, [1, 1, l.du]), userId);
    const features = sharedTrunkFeatures(l, p, pre0, user);
    const [, n, h] = features.shape;
    return tf.concat([tf.reshape(features, [n, h]), tf.reshape(offset, [n, 1])], 1) as tf.Tensor2D;
  });
}

/** Rows `row[i]` of `values[src[i]]`, in order; runs of consecutive rows are copied as one block. */
function gatherRows(
  values: readonly Float32Array[],
  src: Uint32Array,
  row: Int32Array,
  width: number,
): Float32Array {
  const count = row.length;
  const out = new Float32Array(count * width);
  for (let i = 0; i < count;) {
    const v = values[src[i]];
    const from = row[i];
    let n = 1;
    while (i + n < count && src[i + n] === src[i] && row[i + n] === from + n) n++;
    if (n * width <= 16) {
      // Short runs (a single offset value, a few columns): an element loop beats subarray.
      const a = from * width;
      const b = i * width;
      for (let k = 0; k < n * width; k++) out[b + k] = v[a + k];
    } else out.set(v.subarray(from * width, (from + n) * width), i * width);
    i += n;
  }
  return out;
}

/**
 * Host rows and a 0/1 mask of the items of `ids` that have a warmed ID representation (undefined
 * when none do); a row of the wrong width or with a non-finite value is a ValidationError.
 */
export function warmRows(
  model: ItemEncodingModel,
  ids: readonly string[],
  warmItems: WarmItemIds | undefined,
): { rows: Float32Array; use: Float32Array } | undefined {
  if (!warmItems || warmItems.size === 0) return undefined;
  const width = model.layout.idDim + 1;
  if (model.layout.idDim === 0)
    throw new ValidationError('warmItems', 'the model has no item ID embeddings to warm up');
  let rows: Float32Array | undefined;
  let use: Float32Array | undefined;
  ids.forEach((id, i) => {
    const row = warmItems.get(id);
    if (!row) return;
    if (row.length !== width || row.some((v) => !Number.isFinite(v)))
      throw new ValidationError(`warmItems["${id}"]`, `must be ${width} finite values`);
    rows ??= new Float32Array(ids.length * width);
    use ??= new Float32Array(ids.length);
    rows.set(row, i * width);
    use[i] = 1;
  });
  return rows && use ? { rows, use } : undefined;
}
