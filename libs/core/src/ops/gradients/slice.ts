/** Gradient of Slice: dy padded with zeros back to the input. */
import * as tf from '@tensorflow/tfjs-core';

export const sliceGradConfig: tf.GradConfig = {
  kernelName: tf.Slice,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const { begin, size } = attrs as unknown as { begin: number[]; size: number[] };
    const pads = x.shape.map((d, i): [number, number] => {
      const s = size[i] === -1 ? d - begin[i] : size[i];
      return [begin[i], d - begin[i] - s];
    });
    return { x: () => tf.pad(dy as tf.Tensor, pads) };
  },
};
