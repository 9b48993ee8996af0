/**
 * Candidate items encoded once per model version and reused for every user scored against them:
 * feature rows plus everything item-side that does not depend on local parameters.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from '../errors';
import { encodeRows } from '../features/encoder';
import type { ItemRecord } from '../types';
import type { RecommenderModel } from './model';
import { itemContent, itemIdRepr, withContent } from './network';

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
}

/** Candidate items encoded for one model version; reusable across users. Call `dispose()` when done. */
export class EncodedItems implements ItemTensors {
  readonly x: tf.Tensor2D;
  readonly content: tf.Tensor2D | null;
  readonly idRepr: tf.Tensor2D | null;
  readonly hidden: tf.Tensor3D | null;
  readonly offset: tf.Tensor3D | null;
  readonly pre0: tf.Tensor3D | null;
  private readonly host = new Map<keyof ItemTensors, Float32Array>();

  private constructor(
    readonly model: RecommenderModel,
    readonly ids: string[],
    readonly modelVersion: number,
    t: ItemTensors,
  ) {
    this.x = t.x;
    this.content = t.content;
    this.idRepr = t.idRepr;
    this.hidden = t.hidden;
    this.offset = t.offset;
    this.pre0 = t.pre0;
  }

  /** Encodes items for the model's current version. */
  static encode(model: RecommenderModel, items: readonly ItemRecord[]): EncodedItems {
    const ids = items.map((i) => i.id);
    const rows = encodeRows(model.spec.item, items, model.encodeStats);
    const x = tf.tensor2d(rows, [items.length, model.spec.item.width]);
    const p = model.globals();
    const content = model.contentIsGlobal ? tf.tidy(() => itemContent(model.layout, p, x)) : null;
    let idRepr: tf.Tensor2D | null = null;
    if (model.layout.idDim > 0) {
      const idx = ids.map((id) => model.itemIdIndex.get(id) ?? 0);
      idRepr = tf.tidy(() => {
        const index = tf.tensor1d(idx, 'int32');
        const warm = tf.tensor1d(idx.map((i) => (i > 0 ? 1 : 0)));
        return itemIdRepr(p, x, index, warm) as tf.Tensor2D;
      });
    }
    let hidden: tf.Tensor3D | null = null;
    let offset: tf.Tensor3D | null = null;
    let pre0: tf.Tensor3D | null = null;
    if (content) {
      [hidden, offset] = tf.tidy(() => {
        const inp = withContent(
          model.layout,
          p,
          {
            userX: tf.zeros([1, 1, model.spec.user.width]) as tf.Tensor3D,
            itemX: tf.expandDims(x, 0) as tf.Tensor3D,
            itemContent: tf.expandDims(content, 0) as tf.Tensor3D,
            itemId: idRepr ? (tf.expandDims(idRepr, 0) as tf.Tensor3D) : undefined,
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
      }
    }
    return new EncodedItems(model, ids, model.version, { x, content, idRepr, hidden, offset, pre0 });
  }

  /**
   * A new set made of rows of existing sets of the same model version, in the order given:
   * gathering precomputed rows is far cheaper than encoding the items again (the serving catalog
   * keeps every active item encoded). The sources stay owned by the caller.
   */
  static select(picks: readonly { source: EncodedItems; row: number }[]): EncodedItems {
    if (picks.length === 0) throw new ValidationError('picks', 'must be non-empty');
    const { model, modelVersion } = picks[0].source;
    for (const { source, row } of picks) {
      if (source.model !== model || source.modelVersion !== modelVersion)
        throw new ValidationError('picks', 'must come from one model version');
      if (!(Number.isInteger(row) && row >= 0 && row < source.size))
        throw new ValidationError('picks', `row ${row} is out of range`);
    }
    // Copied row by row on the host: the wasm backend's Gather kernel is far slower than a
    // typed-array copy, and each source's values are read from the backend only once.
    const first = picks[0].source;
    const take = <T extends tf.Tensor>(field: keyof ItemTensors): T | null => {
      const like = first[field];
      if (like === null) return null;
      const width = like.size / first.size;
      const out = new Float32Array(picks.length * width);
      let values = first.hostValues(field);
      let from: EncodedItems = first;
      // Runs of consecutive rows of one source are copied as one block (memcpy).
      for (let i = 0; i < picks.length;) {
        const { source, row } = picks[i];
        if (source !== from) [from, values] = [source, source.hostValues(field)];
        let n = 1;
        while (i + n < picks.length && picks[i + n].source === source && picks[i + n].row === row + n) n++;
        out.set(values.subarray(row * width, (row + n) * width), i * width);
        i += n;
      }
      const shape = like.rank === 3 ? [1, picks.length, width] : [picks.length, width];
      return tf.tensor(out, shape) as T;
    };
    return new EncodedItems(
      model,
      picks.map(({ source, row }) => source.ids[row]),
      modelVersion,
      {
        x: take<tf.Tensor2D>('x')!,
        content: take('content'),
        idRepr: take('idRepr'),
        hidden: take('hidden'),
        offset: take('offset'),
        pre0: take('pre0'),
      },
    );
  }

  /** Host copy of one tensor's values, read once (sets that are gathered from are long-lived). */
  private hostValues(field: keyof ItemTensors): Float32Array {
    let values = this.host.get(field);
    if (!values) {
      values = this[field]!.dataSync() as Float32Array;
      this.host.set(field, values);
    }
    return values;
  }

  get size(): number {
    return this.ids.length;
  }

  dispose(): void {
    this.host.clear();
    tf.dispose(
      [this.x, this.content, this.idRepr, this.hidden, this.offset, this.pre0].filter((t) => t !== null),
    );
  }
}
