import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from '../errors';
import { encodeInto } from '../features/encoder';
import type { ItemCatalog, Rating } from '../types';
import { warmRows } from './encoded-items';
import type { RecommenderModel } from './model';
import type { WarmItemIds } from './warm-items';

/** A padded, masked set of rated items per user, as tensors: itemX [B,S,di], y and mask [B,S]. */
export interface RatedSet {
  itemX: tf.Tensor3D;
  y: tf.Tensor2D;
  mask: tf.Tensor2D;
  /** Row of `id.item` per item (0 = none) [B,S] int32, and 1 where that row is used [B,S]. */
  idIndex: tf.Tensor2D;
  warm: tf.Tensor2D;
  /** Row of `id.user` per user [B] int32 (0 = cold user); only for models with user IDs. */
  userIdIndex?: tf.Tensor1D;
  /** Warmed ID representations [B,S,idDim+1] and 1 where one replaces the model's [B,S] (see warmUpItems). */
  warmRows?: { rows: tf.Tensor3D; use: tf.Tensor2D };
}

/** Options for {@link buildRatedSet}. */
export interface RatedSetOptions {
  /** Field path prefix for error messages, e.g. `requests` or `tasks`. */
  path: string;
  /** Which list inside each entry, for error messages (`support` or `query`). */
  list: string;
  /** Feature rows by item id, reused across batches. */
  rowCache?: Map<string, Float32Array>;
  /**
   * Feature rows by item record (object identity), reused across calls: safe for long-lived
   * callers such as serving, where a changed item arrives as a new record object.
   */
  rowsByRecord?: WeakMap<object, Float32Array>;
  /** Returns true to score a warm item with its generated ID embedding (MetaEmb training). */
  dropId?: () => boolean;
  /** Pad to at least this many items (keeps shapes stable). */
  minLength?: number;
  /** Rows of `id.user`, one per list (see RecommenderModel.userIdRows); required with user IDs. */
  userIdRows?: Int32Array;
  /** Warmed item ID representations (see warmUpItems), used instead of the model's for those items. */
  warmItems?: WarmItemIds;
  /**
   * Encoded rows of items that may be missing from the catalog: the negative pool's (sampled
   * negatives are drawn from the model's own catalog, not the caller's).
   */
  poolRows?: ReadonlyMap<string, Float32Array>;
}

/** Encodes one padded batch of rating lists; unknown items and non-finite values are errors naming the field. */
export function buildRatedSet(
  model: RecommenderModel,
  lists: readonly Rating[][],
  items: ItemCatalog,
  opts: RatedSetOptions,
): RatedSet {
  const b = lists.length;
  // Check every list before reading lengths (a null support set is a ValidationError, not a TypeError).
  lists.forEach((list, i) => {
    if (!Array.isArray(list))
      throw new ValidationError(`${opts.path}[${i}].${opts.list}`, 'must be an array');
  });
  if (model.layout.userIdDim > 0 && opts.userIdRows?.length !== b)
    throw new Error(`buildRatedSet: the model has user IDs; pass userIdRows (one per list, ${b})`);
  const s = Math.max(1, opts.minLength ?? 1, ...lists.map((l) => l.length));
  const di = model.layout.di;
  const x = new Float32Array(b * s * di);
  const y = new Float32Array(b * s);
  const mask = new Float32Array(b * s);
  const idIndex = new Int32Array(b * s);
  const warm = new Float32Array(b * s);
  lists.forEach((list, i) => {
    list.forEach((r, j) => {
      const at = `${opts.path}[${i}].${opts.list}[${j}]`;
      if (!r || typeof r.itemId !== 'string') throw new ValidationError(`${at}.itemId`, 'is required');
      if (typeof r.value !== 'number' || !Number.isFinite(r.value)) {
        throw new ValidationError(`${at}.value`, 'must be a finite number');
      }
      const k = i * s + j;
      let row = opts.rowCache?.get(r.itemId);
      if (!row) {
        const item = items.get(r.itemId);
        row = item ? opts.rowsByRecord?.get(item) : opts.poolRows?.get(r.itemId);
        if (!item && !row) throw new ValidationError(`${at}.itemId`, `unknown item "${r.itemId}"`);
        if (!row) {
          row = new Float32Array(di);
          encodeInto(model.spec.item, item!.features ?? {}, row, 0, model.encodeStats);
          opts.rowsByRecord?.set(item!, row);
        }
        opts.rowCache?.set(r.itemId, row);
      }
      x.set(row, k * di);
      y[k] = r.value;
      mask[k] = 1;
      const id = model.itemIdIndex.get(r.itemId) ?? 0;
      const useId = id > 0 && !(opts.dropId?.() ?? false);
      idIndex[k] = useId ? id : 0;
      warm[k] = useId ? 1 : 0;
    });
  });
  const warmed = warmRows(
    model,
    lists.flatMap((list) => Array.from({ length: s }, (_, j) => list[j]?.itemId ?? '')),
    opts.warmItems,
  );
  return {
    ...(warmed && {
      warmRows: {
        rows: tf.tensor3d(warmed.rows, [b, s, model.layout.idDim + 1]),
        use: tf.tensor2d(warmed.use, [b, s]),
      },
    }),
    itemX: tf.tensor3d(x, [b, s, di]),
    y: tf.tensor2d(y, [b, s]),
    mask: tf.tensor2d(mask, [b, s]),
    idIndex: tf.tensor2d(idIndex, [b, s], 'int32'),
    warm: tf.tensor2d(warm, [b, s]),
    ...(model.layout.userIdDim > 0 && { userIdIndex: tf.tensor1d(opts.userIdRows!, 'int32') }),
  };
}

/** Frees the tensors of a rated set. */
export function disposeRatedSet(r: RatedSet): void {
  tf.dispose([r.itemX, r.y, r.mask, r.idIndex, r.warm, ...(r.userIdIndex ? [r.userIdIndex] : [])]);
  if (r.warmRows) tf.dispose([r.warmRows.rows, r.warmRows.use]);
}
