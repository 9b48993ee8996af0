import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../rng';
import { INITIAL_LOG_NOISE, INITIAL_LOG_PRECISION, PRIOR_NOISE, PRIOR_PRECISION } from './bayes-head';
import { FOLD_IN_CATALOG, FOLD_IN_LIFT, INITIAL_LOG_CATALOG, INITIAL_LOG_LIFT } from './catalog-fold-in';
import { inputWidth, userWidth as userWidthOf, type NetLayout } from './layout';

/** Named parameter tensors. A local parameter carries a leading user dimension [B, ...shape]. */
export type Params = Record<string, tf.Tensor>;

/** Shape of every parameter, in a fixed order (the order of the weights file). */
export function paramShapes(l: NetLayout, idRows: number, userIdRows = 0): [string, number[]][] {
  const shapes: [string, number[]][] = [];
  for (const f of l.userFields) shapes.push([`emb.user.${f.name}`, [f.width, l.e]]);
  for (const f of l.itemFields) shapes.push([`emb.item.${f.name}`, [f.width, l.e]]);
  // Linear content bias of an item (the "genre regression" of the item-bias baseline, learned end to end).
  shapes.push(['emb.itemBias', [l.di, 1]]);
  if (l.idDim > 0) {
    // Row 0 stands for "no ID"; each row's last column is the item's ID bias.
    shapes.push(['id.item', [idRows + 1, l.idDim + 1]]);
    shapes.push(['gen.w', [l.di, l.idDim + 1]]);
    shapes.push(['gen.b', [l.idDim + 1]]);
  }
  // Warm-user ID embeddings (optional): row 0 is the cold-user row; no bias column.
  if (l.userIdDim > 0) shapes.push(['id.user', [userIdRows + 1, l.userIdDim]]);
  // The first layer is stored as user rows (dec.0.wu) and item rows (dec.0.w).
  const userWidth = userWidthOf(l);
  let width = inputWidth(l) - userWidth;
  l.hidden.forEach((h, i) => {
    if (i === 0) shapes.push(['dec.0.wu', [userWidth, h]]);
    shapes.push([`dec.${i}.w`, [width, h]]);
    shapes.push([`dec.${i}.b`, [h]]);
    width = h;
  });
  shapes.push(['out.w', [width, 1]]);
  shapes.push(['out.b', [1]]);
  // Bayesian last layer: log precision of each head coordinate (the bias last) and log noise variance.
  if (l.bayesHead) {
    shapes.push([PRIOR_PRECISION, [width + 1]]);
    shapes.push([PRIOR_NOISE, [1]]);
  }
  if (l.foldIn) {
    shapes.push([FOLD_IN_CATALOG, [1]]);
    shapes.push([FOLD_IN_LIFT, [1]]);
  }
  return shapes;
}

/**
 * Seeded initial values: He-uniform for decision layers (ReLU), small normal embeddings, zero
 * biases, ID tables and item bias; the output layer starts small so the first predictions sit near
 * the global mean.
 */
export function initialValues(shapes: [string, number[]][], seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  const out = new Map<string, Float32Array>();
  let fanIn0: number | undefined;
  for (const [name, shape] of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    const v = new Float32Array(size);
    if (name.startsWith('dec.') && (name.endsWith('.w') || name.endsWith('.wu'))) {
      // He-uniform over the layer's full fan-in (user and item rows of the first layer together).
      const fanIn = name.startsWith('dec.0.') ? (fanIn0 ??= firstFanIn(shapes)) : shape[0];
      const limit = Math.sqrt(6 / fanIn);
      for (let i = 0; i < size; i++) v[i] = (2 * rng.next() - 1) * limit;
    } else if (name.startsWith('emb.user.') || name.startsWith('emb.item.')) {
      for (let i = 0; i < size; i++) v[i] = 0.1 * rng.normal();
    } else if (name === 'out.w') {
      const limit = Math.sqrt(6 / (shape[0] + 1)) * 0.1;
      for (let i = 0; i < size; i++) v[i] = (2 * rng.next() - 1) * limit;
    } else if (name === 'gen.w') {
      for (let i = 0; i < size; i++) v[i] = 0.01 * rng.normal();
    } else if (name === PRIOR_PRECISION) v.fill(INITIAL_LOG_PRECISION);
    else if (name === PRIOR_NOISE) v.fill(INITIAL_LOG_NOISE);
    else if (name === FOLD_IN_CATALOG) v.fill(INITIAL_LOG_CATALOG);
    else if (name === FOLD_IN_LIFT) v.fill(INITIAL_LOG_LIFT);
    out.set(name, v);
  }
  return out;
}

function firstFanIn(shapes: [string, number[]][]): number {
  return shapes.filter(([n]) => n === 'dec.0.w' || n === 'dec.0.wu').reduce((s, [, sh]) => s + sh[0], 0);
}
