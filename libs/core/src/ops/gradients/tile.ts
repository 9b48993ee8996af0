/** Gradient of Tile: dy summed over the repetitions. */
import * as tf from '@tensorflow/tfjs-core';

export const tileGradConfig: tf.GradConfig = {
  kernelName: tf.Tile,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    // dy index along an axis is rep * d + i: split each axis into [reps, d] and sum the reps.
    const reps = (attrs as unknown as { reps: number[] }).reps;
    const split = x.shape.flatMap((d, i) => [reps[i], d]);
    const repAxes = x.shape.map((_, i) => 2 * i);
    return { x: () => tf.reshape(tf.sum(tf.reshape(dy as tf.Tensor, split), repAxes), x.shape) };
  },
};
