/** Mean absolute error of predictions against targets (equal, non-zero lengths). */
export function mae(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  checkPaired(predicted, actual);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) sum += Math.abs(predicted[i] - actual[i]);
  return sum / actual.length;
}

/** Root mean squared error of predictions against targets (equal, non-zero lengths). */
export function rmse(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  checkPaired(predicted, actual);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) sum += (predicted[i] - actual[i]) ** 2;
  return Math.sqrt(sum / actual.length);
}

function checkPaired(predicted: ArrayLike<number>, actual: ArrayLike<number>): void {
  if (predicted.length !== actual.length) {
    throw new RangeError(`predicted has ${predicted.length} values but actual has ${actual.length}`);
  }
  if (actual.length === 0) throw new RangeError('metrics need at least one value');
}
