/** Gradient of Maximum: dy to the larger input (to a on ties). */
import * as tf from '@tensorflow/tfjs-core';
import { binary } from './broadcast';

export const maximumGradConfig = binary(
  tf.Maximum,
  (dy, a, b) => tf.mul(dy, tf.cast(tf.greaterEqual(a, b), 'float32')),
  (dy, a, b) => tf.mul(dy, tf.cast(tf.less(a, b), 'float32')),
);
