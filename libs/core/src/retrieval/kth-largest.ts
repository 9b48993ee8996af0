/**
 * The k-th largest of `values` (k from 1 to values.length), by quickselect on a copy: O(n) on
 * average, where sorting a 100k-item catalog's scores to cut it at the top few thousand would
 * be O(n log n). `values` must hold no NaN.
 */
export function kthLargest(values: Float32Array, k: number): number {
  const n = values.length;
  if (!(Number.isInteger(k) && k >= 1 && k <= n)) throw new RangeError(`k must be in [1, ${n}]`);
  const a = values.slice();
  // The (n - k)-th smallest (0-based) is the k-th largest.
  const target = n - k;
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    // Median of three as the pivot: sorted or constant runs do not degrade to O(n^2) passes.
    const mid = (lo + hi) >>> 1;
    const pivot = median3(a[lo] as number, a[mid] as number, a[hi] as number);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    // [lo, j] <= pivot <= [i, hi]; between them, values equal to the pivot.
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return pivot;
  }
  return a[target] as number;
}

function median3(x: number, y: number, z: number): number {
  return Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
}
