/** Gradient of Mean: dy broadcast over the averaged axes, over their size. */
import * as tf from '@tensorflow/tfjs-core';
import { expandReduced, reducedAxes } from './reduce';

export const meanGradConfig: tf.GradConfig = {
  kernelName: tf.Mean,
  inputsToSave: ['x'],
  gradFunc: (dy, [x], attrs) => {
    const axes = reducedAxes((attrs as { axis?: number | number[] }).axis, x.rank);
    const n = axes.reduce((p, a) => p * x.shape[a], 1);
    return { x: () => tf.div(expandReduced(dy as tf.Tensor, x, axes), n) };
  },
};
