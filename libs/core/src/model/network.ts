/**
 * The MeLU-style network as pure functions of named parameters, batched over users:
 * every activation is [B, S, width] (B users, S items each). A parameter with a leading user
 * dimension is local (one copy per user, batched matMul); without it, it is shared.
 *
 * `supportGrads` is the hand-written backward pass of the support loss with respect to the local
 * parameters. It uses only ops whose first derivatives tfjs has (matMul, add, mul, slice, sum,
 * sigmoid, and reluGrad, whose gradient ops/relu-grad.ts registers), so differentiating the
 * adapted parameters with tf.grad gives exact second-order meta-gradients without nested tf.grad.
 */
import * as tf from '@tensorflow/tfjs-core';
import { nativeMatMulActive } from '../native-kernels';
// Also registers the stock kernels' gradients that tf.grad needs here.
import { addRowsRelu, reluGrad } from '../ops';
import type { NetLayout } from './layout';
import type { Params } from './params';

/**
 * A local stand-in for per-user copies of dec.0.wu: the product u @ dec.0.wu ([B, 1, h0]). While
 * the embeddings are shared the user vector u is fixed, so the user rows only ever act through
 * that product, and a gradient step on them moves it by a closed form (see innerLoop's
 * `collapseUserRows`) at a fraction of the memory.
 */
export const USER_ROWS = 'dec.0.uwu';

/**
 * The item half's counterpart of {@link USER_ROWS}: hi @ dec.0.w per user ([B, S, h0]) for the
 * support items hi, adapted in place of per-user copies of dec.0.w (innerLoop's serving path).
 */
export const ITEM_ROWS = 'dec.0.hw';

/** Inputs of one batch of users and their items. */
export interface NetInputs {
  /** User rows [B, 1, du]. */
  userX: tf.Tensor3D;
  /** Item rows [B, S, di]. */
  itemX: tf.Tensor3D;
  /** Item ID representation [B, S, idDim + 1] (embedding + ID bias) when the model has ID embeddings. */
  itemId?: tf.Tensor3D;
  /** User ID embedding [B, 1, userIdDim] (rows of `id.user`) when the model has user IDs. */
  userId?: tf.Tensor3D;
  /** Precomputed item content vectors [B, S, nItemFields * e] (only valid while embeddings are global). */
  itemContent?: tf.Tensor3D;
  /** Precomputed user vectors [B, 1, nUserFields * e (+ userIdDim)] (only valid while embeddings are global). */
  userContent?: tf.Tensor3D;
  /** Precomputed item input of the first layer [B, S, di'] (content vector + ID embedding). */
  itemHidden?: tf.Tensor3D;
  /** Precomputed additive terms [B, S, 1]: global mean + item content bias + item ID bias. */
  offset?: tf.Tensor3D;
  /**
   * Precomputed item part of the first layer's pre-activation, itemHidden @ dec.0.w ([B or 1, S, h0];
   * only valid while embeddings and dec.0.w are global, as in the ANIL configuration). Scoring
   * then skips the largest matMul of the network.
   */
  itemPre0?: tf.Tensor3D;
  /** With itemPre0: the user half plus bias, u @ dec.0.wu + dec.0.b ([B, 1, h0]; see userFirstLayer). */
  userPre0?: tf.Tensor3D;
}

/** Whether the field embedding tables in `p` are per-user copies. */
function embeddingsLocal(p: Params): boolean {
  return p['emb.itemBias'].rank === 3;
}

/**
 * Precomputes everything that does not depend on local parameters when the embeddings group is
 * global (the caller says so): user and item vectors and the additive offset. Adaptation steps
 * then skip them.
 */
export function withContent(l: NetLayout, p: Params, inp: NetInputs, mean: number): NetInputs {
  const userContent = inp.userContent ?? userVector(l, p, inp.userX, inp.userId);
  const itemContent = inp.itemContent ?? embed(inp.itemX, l.itemFields, 'item', p);
  const itemHidden =
    l.idDim > 0 ? tf.concat([itemContent, sliceCols(inp.itemId!, 0, l.idDim)], 2) : itemContent;
  return { ...inp, userContent, itemContent, itemHidden, offset: offsetOf(l, p, inp, mean) };
}

function offsetOf(l: NetLayout, p: Params, inp: NetInputs, mean: number): tf.Tensor3D {
  let o = mm(inp.itemX, p['emb.itemBias']);
  if (l.idDim > 0) o = tf.add(o, sliceCols(inp.itemId!, l.idDim, 1));
  return l.task === 'rating' ? tf.add(o, mean) : o;
}

/** Intermediate values kept for the backward pass. */
interface Trace {
  pred: tf.Tensor2D;
  /** User vector [B,1,du'] and item vector (content + ID embedding) [B,S,di'] (absent when both
   * halves of the first layer were precomputed, which only scoring does). */
  u?: tf.Tensor3D;
  hi?: tf.Tensor3D;
  /** h[i] = activation of decision layer i (relu of its pre-activation, which is > 0 where h is). */
  h: tf.Tensor3D[];
}

/** x [B,S,in] times W: shared W [in,out] or local W [B,in,out]. */
function mm(x: tf.Tensor3D, w: tf.Tensor): tf.Tensor3D {
  if (w.rank === 3) return tf.matMul(x, w as tf.Tensor3D);
  const [b, s, n] = x.shape;
  return tf.reshape(tf.matMul(tf.reshape(x, [b * s, n]), w as tf.Tensor2D), [b, s, w.shape[1]!]);
}

/** dy [B,S,out] times W^T. */
function mmT(dy: tf.Tensor3D, w: tf.Tensor): tf.Tensor3D {
  if (w.rank === 3) return tf.matMul(dy, w as tf.Tensor3D, false, true);
  const [b, s, n] = dy.shape;
  return tf.reshape(tf.matMul(tf.reshape(dy, [b * s, n]), w as tf.Tensor2D, false, true), [
    b,
    s,
    w.shape[0]!,
  ]);
}

function addBias(z: tf.Tensor3D, bias: tf.Tensor): tf.Tensor3D {
  return tf.add(z, biasRows(bias));
}

/** A bias as rows that broadcast over the items: per-user [B, H] -> [B, 1, H]; shared [H] as is. */
function biasRows(bias: tf.Tensor): tf.Tensor {
  return bias.rank === 2 ? tf.expandDims(bias, 1) : bias;
}

function sliceCols(x: tf.Tensor3D, offset: number, width: number): tf.Tensor3D {
  return tf.slice(x, [0, 0, offset], [-1, -1, width]);
}

/** Field embeddings of rows x: concatenation over fields of x_f @ W_f (mean-pooled multi-hot). */
function embed(
  x: tf.Tensor3D,
  fields: NetLayout['userFields'],
  side: 'user' | 'item',
  p: Params,
): tf.Tensor3D {
  const tables = fields.map((f) => p[`emb.${side}.${f.name}`]);
  if (fields.length > 1 && tables.every((t) => t.rank === 2)) {
    // Shared tables: one product with the block-diagonal matrix of all of them. Slicing x per
    // field and concatenating the parts cost more on wasm than the whole product.
    const width = x.shape[2];
    const e = tables[0].shape[1]!;
    const blocks = fields.map((f, k) =>
      tf.pad(tables[k], [
        [f.offset, width - f.offset - f.width],
        [k * e, (fields.length - 1 - k) * e],
      ]),
    );
    // Summed with add: tfjs registers no gradient for AddN.
    const table = blocks.reduce((sum, block) => tf.add(sum, block));
    return mm(x, table);
  }
  const parts = fields.map((f, k) => mm(sliceCols(x, f.offset, f.width), tables[k]));
  return parts.length === 1 ? parts[0] : tf.concat(parts, 2);
}

/**
 * The user vector [B, 1, du']: field embeddings, then (with user IDs) the user's row of `id.user`,
 * concatenated as an item's ID embedding is on the item side.
 */
function userVector(l: NetLayout, p: Params, userX: tf.Tensor3D, userId?: tf.Tensor3D): tf.Tensor3D {
  const u = embed(userX, l.userFields, 'user', p);
  if (l.userIdDim === 0) return u;
  if (!userId) throw new Error('the model has user IDs: NetInputs.userId (rows of id.user) is required');
  return tf.concat([u, userId], 2);
}

/** Item content vectors [N, nItemFields * e] from item rows [N, di] (shared embeddings only). */
export function itemContent(l: NetLayout, p: Params, itemX: tf.Tensor2D): tf.Tensor2D {
  return tf.squeeze(
    embed(tf.expandDims(itemX, 0) as tf.Tensor3D, l.itemFields, 'item', p),
    [0],
  ) as tf.Tensor2D;
}

/** User ID embeddings [B, 1, userIdDim]: rows `index` ([B] int32, 0 = cold user) of `id.user`. */
export function userIdRepr(p: Params, index: tf.Tensor): tf.Tensor3D {
  return tf.expandDims(tf.gather(p['id.user'], index), 1) as tf.Tensor3D;
}

/**
 * Item ID representation [..., idDim + 1]: a warm item's own row of `id.item`, otherwise the
 * generator's output from content (MetaEmb). `warm` is 1 where the own row is used.
 */
export function itemIdRepr(p: Params, itemX: tf.Tensor, idIndex: tf.Tensor, warm: tf.Tensor): tf.Tensor {
  const own = tf.gather(p['id.item'], idIndex);
  const rank = itemX.rank;
  const x2 = tf.reshape(itemX, [-1, itemX.shape[rank - 1]]);
  const gen = tf.reshape(tf.add(tf.matMul(x2, p['gen.w'] as tf.Tensor2D), p['gen.b']), own.shape);
  const w = tf.expandDims(warm, -1);
  return tf.add(tf.mul(w, own), tf.mul(tf.sub(1, w), gen));
}

function trace(l: NetLayout, p: Params, inp: NetInputs, mean: number): Trace {
  const t = trunkTrace(l, p, inp);
  const shared = !embeddingsLocal(p);
  const offset = shared && inp.offset ? inp.offset : offsetOf(l, p, inp, mean);
  return { ...t, pred: headOutput(p, t.h[t.h.length - 1], offset) };
}

/** Every decision layer's pre-activation and activation (no output layer). */
function trunkTrace(l: NetLayout, p: Params, inp: NetInputs): Omit<Trace, 'pred'> {
  const shared = !embeddingsLocal(p);
  const firstShared =
    shared &&
    !p[USER_ROWS] &&
    !p[ITEM_ROWS] &&
    p['dec.0.w'].rank === 2 &&
    p['dec.0.wu'].rank === 2 &&
    p['dec.0.b'].rank === 1;
  if (firstShared && inp.itemPre0 && inp.userPre0) {
    return hiddenLayers(l, p, inp.itemPre0, [inp.userPre0]);
  }
  const u = shared && inp.userContent ? inp.userContent : userVector(l, p, inp.userX, inp.userId);
  let hi = shared ? inp.itemHidden : undefined;
  if (!hi) {
    const v = shared && inp.itemContent ? inp.itemContent : embed(inp.itemX, l.itemFields, 'item', p);
    hi = l.idDim > 0 ? tf.concat([v, sliceCols(inp.itemId!, 0, l.idDim)], 2) : v;
  }
  // The first layer has separate user rows (dec.0.wu) and item rows (dec.0.w), so the user vector
  // is multiplied once per user instead of being tiled over the S items.
  const itemPart =
    (p[ITEM_ROWS] as tf.Tensor3D | undefined) ??
    (shared && inp.itemPre0 && p['dec.0.w'].rank === 2 ? inp.itemPre0 : mm(hi, p['dec.0.w']));
  const userPart = (p[USER_ROWS] as tf.Tensor3D | undefined) ?? mm(u, p['dec.0.wu']);
  return { ...hiddenLayers(l, p, itemPart, [userPart, biasRows(p['dec.0.b'])]), u, hi };
}

/**
 * The decision layers' activations: the first is relu(x0 + rows0...) (its item half plus the
 * rows that broadcast over the items: user half, bias), then each next one relu(h W + b). Each
 * layer's bias and ReLU are one fused pass (addRowsRelu).
 */
function hiddenLayers(l: NetLayout, p: Params, x0: tf.Tensor3D, rows0: tf.Tensor[]): { h: tf.Tensor3D[] } {
  const h: tf.Tensor3D[] = [addRowsRelu(x0, rows0)];
  for (let i = 1; i < l.hidden.length; i++) {
    h.push(addRowsRelu(mm(h[i - 1], p[`dec.${i}.w`]), [biasRows(p[`dec.${i}.b`])]));
  }
  return { h };
}

/**
 * The user half of the first layer plus its bias, u @ dec.0.wu + dec.0.b ([B, 1, h0]), for shared
 * embeddings and first layer: computed once per adaptation batch so that scoring a user only adds
 * it to the items' precomputed half (EncodedItems.pre0).
 */
export function userFirstLayer(
  l: NetLayout,
  p: Params,
  userX: tf.Tensor3D,
  userId?: tf.Tensor3D,
): tf.Tensor3D {
  return addBias(mm(userVector(l, p, userX, userId), p['dec.0.wu']), p['dec.0.b']);
}

/**
 * Last decision layer [B, S, H] of a shared trunk from the first layer's precomputed halves
 * (itemPre0 [1 or B, S, h0] + userPre0 [B, 1, h0]); the decision layers must be global. Scoring
 * only: no item features are read.
 */
export function sharedTrunkFeatures(
  l: NetLayout,
  p: Params,
  itemPre0: tf.Tensor3D,
  userPre0: tf.Tensor3D,
): tf.Tensor3D {
  const { h } = hiddenLayers(l, p, itemPre0, [userPre0]);
  return h[h.length - 1];
}

/** The output layer on trunk features: [B,S,H] @ out.w (+ out.b, + offset) -> [B,S]. */
export function headOutput(p: Params, features: tf.Tensor3D, offset: tf.Tensor3D): tf.Tensor2D {
  const o = addBias(mm(features, p['out.w']), p['out.b']);
  return tf.squeeze(tf.add(o, offset), [2]) as tf.Tensor2D;
}

/**
 * The trunk: last hidden layer [B,S,H] and additive offset [B,S,1]. When the trunk's parameters
 * are shared (ANIL), every matMul here is one [B*S, in] x [in, out] product for all users.
 */
export function trunk(
  l: NetLayout,
  p: Params,
  inp: NetInputs,
  mean: number,
): { features: tf.Tensor3D; offset: tf.Tensor3D } {
  const t = trunkTrace(l, p, inp);
  const offset = !embeddingsLocal(p) && inp.offset ? inp.offset : offsetOf(l, p, inp, mean);
  return { features: t.h[t.h.length - 1], offset };
}

/**
 * x^T dy per user ([B,K,I]^T [B,K,O] -> [B,I,O]). The native kernel reads x transposed in place;
 * the stock wasm and cpu kernels are several times slower with transposeA, so for them it is a
 * transpose plus a plain batched matMul (or a reshape when K = 1).
 */
export function xtdy(x: tf.Tensor3D, dy: tf.Tensor3D): tf.Tensor3D {
  if (nativeMatMulActive()) return tf.matMul(x, dy, true, false);
  const [b, k, i] = x.shape;
  const xt = k === 1 ? tf.reshape(x, [b, i, 1]) : tf.transpose(x, [0, 2, 1]);
  return tf.matMul(xt as tf.Tensor3D, dy);
}

/**
 * Sum over the items axis, [B,S,H] -> [B,1,H] (or [B,H]). With the native kernel it is a product
 * with a row of ones: the stock wasm Sum over a middle axis transposes first and was measured
 * 5x slower on [256,20,64].
 */
function sumItems(x: tf.Tensor3D, keepDims = false): tf.Tensor {
  if (!nativeMatMulActive()) return tf.sum(x, 1, keepDims);
  const [b, s, h] = x.shape;
  const r = tf.matMul(tf.ones([1, 1, s]), x);
  return keepDims ? r : tf.reshape(r, [b, h]);
}

/** Raw predictions [B, S]: ratings (unclamped) or logits. */
export function forward(l: NetLayout, p: Params, inp: NetInputs, mean: number): tf.Tensor2D {
  return trace(l, p, inp, mean).pred;
}

/** Per-user mean loss [B] over the masked items: MSE for ratings, logistic loss for implicit. */
export function perUserLoss(l: NetLayout, pred: tf.Tensor2D, y: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
  const e = l.task === 'rating' ? tf.square(tf.sub(pred, y)) : tf.sub(tf.softplus(pred), tf.mul(y, pred)); // -log sigmoid likelihood, stable form
  const n = tf.maximum(tf.sum(mask, 1), 1);
  return tf.div(tf.sum(tf.mul(e, mask), 1), n) as tf.Tensor1D;
}

/** Per-item weights of the loss gradient: mask / n_b, times 2 for MSE, times the learning rate. */
export function lossRowWeights(l: NetLayout, mask: tf.Tensor2D, scale: number): tf.Tensor2D {
  const n = tf.expandDims(tf.maximum(tf.sum(mask, 1), 1), 1);
  return tf.mul(tf.div(mask, n), (l.task === 'rating' ? 2 : 1) * scale);
}

/**
 * How a weight matrix's gradient x^T dy is formed; {@link xtdy} unless the caller fuses it with
 * the step that consumes it (innerLoop's serving path).
 */
export type WeightGradFn = (name: string, x: tf.Tensor3D, dy: tf.Tensor3D) => tf.Tensor;

const plainWeightGrad: WeightGradFn = (_name, x, dy) => xtdy(x, dy);

/**
 * Gradients of sum_b perUserLoss_b with respect to the local parameters `localNames`, one per user
 * ([B, ...] whether the current value is shared or already per user), by explicit backpropagation,
 * multiplied by `scale` (the inner learning rate, folded into the small output gradient instead of
 * scaling every large weight gradient). The weight matrices' gradients (out.w, dec.i.w, dec.0.wu)
 * are formed by `weightGrad`.
 */
export function supportGrads(
  l: NetLayout,
  p: Params,
  localNames: readonly string[],
  inp: NetInputs,
  y: tf.Tensor2D,
  mask: tf.Tensor2D,
  mean: number,
  scale = 1,
  rowWeight?: tf.Tensor2D,
  weightGrad: WeightGradFn = plainWeightGrad,
): Params {
  const t = trace(l, p, inp, mean);
  const need = new Set(localNames);
  // d loss / d pred = w * (pred - y) for MSE (w = 2 scale mask / n) or w * (sigmoid(pred) - y).
  const w = rowWeight ?? lossRowWeights(l, mask, scale);
  const resid = l.task === 'rating' ? tf.sub(t.pred, y) : tf.sub(tf.sigmoid(t.pred), y);
  const dOut = tf.expandDims(tf.mul(resid, w), 2) as tf.Tensor3D; // [B,S,1]
  const g: Params = {};
  const L = l.hidden.length;
  if (need.has('out.w')) g['out.w'] = weightGrad('out.w', t.h[L - 1], dOut);
  if (need.has('out.b')) g['out.b'] = tf.sum(dOut, 1);
  if (need.has('emb.itemBias')) g['emb.itemBias'] = xtdy(inp.itemX, dOut);
  // How deep the backward pass must go: the first layer that has a local parameter.
  const embLocal = localNames.some((nm) => nm.startsWith('emb.user.') || nm.startsWith('emb.item.'));
  let depth = embLocal ? 0 : L;
  for (let i = 0; i < L && depth === L; i++)
    if (
      need.has(`dec.${i}.w`) ||
      need.has(`dec.${i}.b`) ||
      need.has(`dec.${i}.wu`) ||
      (i === 0 && (need.has(USER_ROWS) || need.has(ITEM_ROWS)))
    )
      depth = i;
  if (depth === L) return g;
  let dh: tf.Tensor3D = mmT(dOut, p['out.w']);
  let dz0: tf.Tensor3D | undefined;
  for (let i = L - 1; i >= depth; i--) {
    const dz = reluGrad(dh, t.h[i]) as tf.Tensor3D;
    if (need.has(`dec.${i}.b`)) g[`dec.${i}.b`] = sumItems(dz);
    if (i > 0) {
      if (need.has(`dec.${i}.w`)) g[`dec.${i}.w`] = weightGrad(`dec.${i}.w`, t.h[i - 1], dz);
      if (i > depth) dh = mmT(dz, p[`dec.${i}.w`]);
    } else dz0 = dz;
  }
  if (!dz0) return g;
  const dzSum = sumItems(dz0, true) as tf.Tensor3D; // [B,1,H]: the user vector is shared by the S items
  if (need.has('dec.0.wu')) g['dec.0.wu'] = weightGrad('dec.0.wu', t.u!, dzSum);
  if (need.has(USER_ROWS)) g[USER_ROWS] = dzSum; // d loss / d (u @ dec.0.wu)
  if (need.has(ITEM_ROWS)) g[ITEM_ROWS] = dz0; // d loss / d (hi @ dec.0.w)
  if (need.has('dec.0.w')) g['dec.0.w'] = weightGrad('dec.0.w', t.hi!, dz0);
  if (embLocal) {
    const du = mmT(dzSum, p['dec.0.wu']); // [B,1,du']
    const dv = mmT(dz0, p['dec.0.w']); // [B,S,di']
    l.userFields.forEach((f, k) => {
      const name = `emb.user.${f.name}`;
      const x = sliceCols(inp.userX, f.offset, f.width);
      if (need.has(name)) g[name] = xtdy(x, sliceCols(du, k * l.e, l.e));
    });
    l.itemFields.forEach((f, k) => {
      const name = `emb.item.${f.name}`;
      const x = sliceCols(inp.itemX, f.offset, f.width);
      if (need.has(name)) g[name] = xtdy(x, sliceCols(dv, k * l.e, l.e));
    });
  }
  return g;
}
