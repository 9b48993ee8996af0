/** Gradient of Add: dy to both inputs. */
import * as tf from '@tensorflow/tfjs-core';
import { binary } from './broadcast';

export const addGradConfig = binary(
  tf.Add,
  (dy) => dy,
  (dy) => dy,
);
