/** Gradient of RealDiv: dy / b and -dy * a / b^2. */
import * as tf from '@tensorflow/tfjs-core';
import { binary } from './broadcast';

export const realDivGradConfig = binary(
  tf.RealDiv,
  (dy, _a, b) => tf.div(dy, b),
  (dy, a, b) => tf.neg(tf.div(tf.mul(dy, a), tf.square(b))),
);
