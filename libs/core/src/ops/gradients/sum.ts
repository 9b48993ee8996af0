/** Gradient of Sum: dy broadcast over the summed axes. */
import * as tf from '@tensorflow/tfjs-core';
import { expandReduced, reducedAxes } from './reduce';

export const sumGradConfig: tf.GradConfig = {
  kernelName: tf.Sum,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const axes = reducedAxes((attrs as { axis?: number | number[] }).axis, x.rank);
    return { x: () => expandReduced(dy as tf.Tensor, x, axes) };
  },
};
