import * as tf from '@tensorflow/tfjs-core';
import { ValidationError } from '../errors';
import type { RecommenderModel } from '../model/model';

/**
 * Sets the ID embeddings of the listed items (the first idDim columns of their `id.item` rows;
 * each row's ID bias is kept) from vectors fitted elsewhere, e.g. matrix-factorisation item
 * factors of the training interactions, so meta-training starts from a collaborative space
 * instead of zeros. Items the model has no ID row for are skipped. Returns how many rows were set.
 */
export function initItemEmbeddings(
  model: RecommenderModel,
  vectors: ReadonlyMap<string, Float32Array>,
): number {
  const dim = model.layout.idDim;
  if (dim === 0) throw new ValidationError('model', 'has no item ID embeddings (config.idEmbeddings)');
  const table = model.params['id.item'];
  const values = table.dataSync().slice() as Float32Array;
  const width = table.shape[1]!;
  let set = 0;
  for (const [id, v] of vectors) {
    if (v.length !== dim)
      throw new ValidationError(
        `vectors.${id}`,
        `must have ${dim} values (the ID embedding size), not ${v.length}`,
      );
    const row = model.itemIdIndex.get(id);
    if (row === undefined) continue;
    values.set(v, row * width);
    set++;
  }
  table.assign(tf.tensor(values, table.shape));
  model.touch();
  return set;
}

/**
 * Makes the trunk start as a pass-through of the item ID embedding e: the first 2 * idDim units
 * of every decision layer carry [relu(e), relu(-e)] (the first layer's ID rows are [I, -I], every
 * other row of those units and their biases 0; each later layer copies them with an identity
 * block), so a linear head on the trunk's features can express any linear function of e, and the
 * head's fold-in of a user starts as a matrix-factorisation fold-in in e's space (with
 * initItemEmbeddings' factors). The other units keep their random initialisation and meta-training
 * is free to move everything. Needs every hidden layer at least 2 * idDim wide and no wider than
 * the next; returns false (and changes nothing) otherwise.
 */
export function passThroughItemIds(model: RecommenderModel): boolean {
  const l = model.layout;
  const k = 2 * l.idDim;
  if (l.idDim === 0 || l.hidden.some((h, i) => h < k || (i > 0 && h < l.hidden[i - 1]))) return false;
  const content = l.itemFields.length * l.e;
  const edit = (name: string, fn: (v: Float32Array, cols: number) => void) => {
    const p = model.params[name];
    const v = p.dataSync().slice() as Float32Array;
    fn(v, p.shape[p.rank - 1]!);
    p.assign(tf.tensor(v, p.shape));
  };
  // Zero the first k columns of a weight matrix, then apply `set` to them.
  const columns = (name: string, set: (v: Float32Array, cols: number) => void) =>
    edit(name, (v, cols) => {
      for (let r = 0; r < v.length / cols; r++) v.fill(0, r * cols, r * cols + k);
      set(v, cols);
    });
  const zeroFirst = (name: string) => edit(name, (v) => v.fill(0, 0, k));
  columns('dec.0.wu', () => undefined);
  columns('dec.0.w', (v, cols) => {
    for (let j = 0; j < l.idDim; j++) {
      v[(content + j) * cols + j] = 1;
      v[(content + j) * cols + l.idDim + j] = -1;
    }
  });
  zeroFirst('dec.0.b');
  for (let i = 1; i < l.hidden.length; i++) {
    columns(`dec.${i}.w`, (v, cols) => {
      for (let j = 0; j < k; j++) v[j * cols + j] = 1;
    });
    zeroFirst(`dec.${i}.b`);
  }
  model.touch();
  return true;
}
