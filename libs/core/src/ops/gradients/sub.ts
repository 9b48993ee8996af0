/** Gradient of Sub: dy and -dy. */
import * as tf from '@tensorflow/tfjs-core';
import { binary } from './broadcast';

export const subGradConfig = binary(
  tf.Sub,
  (dy) => dy,
  (dy) => tf.neg(dy),
);
