/** Gradient of Multiply: dy * b and dy * a. */
import * as tf from '@tensorflow/tfjs-core';
import { binary } from './broadcast';

export const multiplyGradConfig = binary(
  tf.Multiply,
  (dy, _a, b) => tf.mul(dy, b),
  (dy, a) => tf.mul(dy, a),
);
