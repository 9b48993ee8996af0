/**
 * Gradient of PadV2: the slice of dy over the input (and Slice's is a pad: second order).
 */
import * as tf from '@tensorflow/tfjs-core';

export const padV2GradConfig: tf.GradConfig = {
  kernelName: tf.PadV2,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { paddings } = attrs as unknown as { paddings: [number, number][] };
    return {
      x: () =>
        tf.slice(
          dy as tf.Tensor,
          paddings.map((p) => p[0]),
          x.shape,
        ),
    };
  },
};
