/**
 * The MeLU-style network as pure functions of named parameters, batched over users:
 * every activation is [B, S, width] (B users, S items each). A parameter with a leading user
 * dimension is local (one copy per user, batched matMul); without it, it is shared.
 *
 * `supportGrads` is the hand-written backward pass of the support loss with respect to the local
 * parameters. It uses only ops whose first derivatives tfjs has (matMul, add, mul, slice, sum,
 * sigmoid, step), so differentiating the adapted parameters with tf.grad gives exact second-order
 * meta-gradients without nested tf.grad.
 */
import * as tf from '@tensorflow/tfjs-core';
import '../gradients';
import type { NetLayout } from './layout';
import type { Params } from './params';

/** Inputs of one batch of users and their items. */
export interface NetInputs {
  /** User rows [B, 1, du]. */
  userX: tf.Tensor3D;
  /** Item rows [B, S, di]. */
  itemX: tf.Tensor3D;
  /** Item ID representation [B, S, idDim + 1] (embedding + ID bias) when the model has ID embeddings. */
  itemId?: tf.Tensor3D;
  /** Precomputed item content vectors [B, S, nItemFields * e] (only valid while embeddings are global). */
  itemContent?: tf.Tensor3D;
}

/** Intermediate values kept for the backward pass. */
interface Trace {
  pred: tf.Tensor2D;
  /** h[0] = decision input, h[i] = output of layer i-1. */
  h: tf.Tensor3D[];
  z: tf.Tensor3D[];
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
  return tf.add(z, bias.rank === 2 ? tf.expandDims(bias, 1) : bias);
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
  const parts = fields.map((f) => mm(sliceCols(x, f.offset, f.width), p[`emb.${side}.${f.name}`]));
  return parts.length === 1 ? parts[0] : tf.concat(parts, 2);
}

/** Item content vectors [N, nItemFields * e] from item rows [N, di] (shared embeddings only). */
export function itemContent(l: NetLayout, p: Params, itemX: tf.Tensor2D): tf.Tensor2D {
  return tf.squeeze(
    embed(tf.expandDims(itemX, 0) as tf.Tensor3D, l.itemFields, 'item', p),
    [0],
  ) as tf.Tensor2D;
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
  const s = inp.itemX.shape[1];
  const u = embed(inp.userX, l.userFields, 'user', p);
  const v =
    inp.itemContent && p[`emb.item.${l.itemFields[0]?.name}`]?.rank !== 3
      ? inp.itemContent
      : embed(inp.itemX, l.itemFields, 'item', p);
  const parts = [tf.tile(u, [1, s, 1]), v];
  if (l.idDim > 0) parts.push(sliceCols(inp.itemId!, 0, l.idDim));
  const h: tf.Tensor3D[] = [tf.concat(parts, 2)];
  const z: tf.Tensor3D[] = [];
  l.hidden.forEach((_, i) => {
    z.push(addBias(mm(h[i], p[`dec.${i}.w`]), p[`dec.${i}.b`]));
    h.push(tf.relu(z[i]));
  });
  let o = addBias(mm(h[h.length - 1], p['out.w']), p['out.b']);
  o = tf.add(o, mm(inp.itemX, p['emb.itemBias']));
  if (l.idDim > 0) o = tf.add(o, sliceCols(inp.itemId!, l.idDim, 1));
  const pred = tf.squeeze(o, [2]) as tf.Tensor2D;
  return { pred: l.task === 'rating' ? tf.add(pred, mean) : pred, h, z };
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

/**
 * Gradients of sum_b perUserLoss_b with respect to the local parameters `localNames` (each [B, ...]),
 * by explicit backpropagation. Also returns the per-user losses.
 */
export function supportGrads(
  l: NetLayout,
  p: Params,
  localNames: readonly string[],
  inp: NetInputs,
  y: tf.Tensor2D,
  mask: tf.Tensor2D,
  mean: number,
): { grads: Params; loss: tf.Tensor1D } {
  const t = trace(l, p, inp, mean);
  const loss = perUserLoss(l, t.pred, y, mask);
  const need = new Set(localNames);
  const n = tf.expandDims(tf.maximum(tf.sum(mask, 1), 1), 1);
  const resid = l.task === 'rating' ? tf.mul(2, tf.sub(t.pred, y)) : tf.sub(tf.sigmoid(t.pred), y);
  const dOut = tf.expandDims(tf.div(tf.mul(resid, mask), n), 2) as tf.Tensor3D; // [B,S,1]
  const g: Params = {};
  const L = l.hidden.length;
  if (need.has('out.w')) g['out.w'] = tf.matMul(t.h[L], dOut, true, false);
  if (need.has('out.b')) g['out.b'] = tf.sum(dOut, 1);
  if (need.has('emb.itemBias')) g['emb.itemBias'] = tf.matMul(inp.itemX, dOut, true, false);
  // How deep the backward pass must go: the first layer that has a local parameter.
  const embLocal = localNames.some((nm) => nm.startsWith('emb.user.') || nm.startsWith('emb.item.'));
  let depth = L;
  for (let i = 0; i < L; i++) {
    if (need.has(`dec.${i}.w`) || need.has(`dec.${i}.b`)) {
      depth = i;
      break;
    }
  }
  if (embLocal) depth = -1;
  if (depth === L) return { grads: g, loss };
  let dh: tf.Tensor3D = mmT(dOut, p['out.w']);
  for (let i = L - 1; i >= Math.max(depth, 0); i--) {
    const dz: tf.Tensor3D = tf.mul(dh, tf.step(t.z[i]));
    if (need.has(`dec.${i}.w`)) g[`dec.${i}.w`] = tf.matMul(t.h[i], dz, true, false);
    if (need.has(`dec.${i}.b`)) g[`dec.${i}.b`] = tf.sum(dz, 1);
    if (i > 0 || embLocal) dh = mmT(dz, p[`dec.${i}.w`]);
  }
  if (embLocal) {
    let col = 0;
    for (const f of l.userFields) {
      const du = tf.sum(sliceCols(dh, col, l.e), 1, true); // the user vector is tiled over S
      const name = `emb.user.${f.name}`;
      if (need.has(name)) g[name] = tf.matMul(sliceCols(inp.userX, f.offset, f.width), du, true, false);
      col += l.e;
    }
    for (const f of l.itemFields) {
      const name = `emb.item.${f.name}`;
      if (need.has(name)) {
        g[name] = tf.matMul(sliceCols(inp.itemX, f.offset, f.width), sliceCols(dh, col, l.e), true, false);
      }
      col += l.e;
    }
  }
  return { grads: g, loss };
}
