/**
 * rowsAtLeast (native/rows_at_least.cc), the first stage's pass over every score: the same rows
 * as JavaScript's `v >= cut && v > -Infinity` on both code paths (AVX2 and portable), for cuts a
 * float32 cannot hold, ties, excluded rows and NaN.
 */
import * as path from 'node:path';
import { useNativeKernels } from '../src';
import type { Addon } from '../src/native-addon';
import { hostRowsAtLeast } from '../src/native-kernels';
import { Rng } from '../src/rng';

const status = useNativeKernels('cpu');
const required = process.env.WARMSTART_REQUIRE_NATIVE_KERNELS === '1';
if (!status.active && !required) console.warn(`rows-at-least.spec: native path skipped: ${status.reason}`);
const itNative = status.active || required ? it : it.skip;

function reference(values: Float32Array, cut: number): number[] {
  const out: number[] = [];
  values.forEach((v, i) => v >= cut && v > -Infinity && out.push(i));
  return out;
}

describe('rowsAtLeast', () => {
  const rng = new Rng(17);
  const values = Float32Array.from({ length: 1003 }, (_, i) =>
    i % 97 === 0 ? -Infinity : i % 89 === 0 ? NaN : i % 13 === 0 ? 0.1 : rng.next() * 2 - 1,
  );
  const cuts = [-Infinity, -1, 0, 0.1, Math.fround(0.1), 0.1 + 1e-12, 0.99, 2, Infinity, NaN, -3.5e38];

  itNative('matches JavaScript on both paths, for every cut', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lib = require(
      path.resolve(__dirname, '../native/build/Release/warmstart_kernels.node'),
    ) as Addon & {
      rowsAtLeast(values: Float32Array, cut: number, out: Int32Array, portable?: boolean): number;
    };
    for (const length of [0, 1, 7, 8, 9, 1003])
      for (const cut of cuts) {
        const v = values.subarray(0, length);
        const want = reference(v, cut);
        for (const portable of [false, true]) {
          const out = new Int32Array(length);
          const n = lib.rowsAtLeast(v, cut, out, portable);
          expect([...out.subarray(0, n)]).toEqual(want);
        }
      }
    expect(() => lib.rowsAtLeast(values, 0, new Int32Array(10))).toThrow(/at least as long/);
  });

  it('hostRowsAtLeast gives the same rows with the native kernels and without', () => {
    for (const cut of cuts) {
      const want = reference(values, cut);
      expect([...hostRowsAtLeast(values, cut)]).toEqual(want);
      const before = process.env.WARMSTART_NATIVE_KERNELS;
      process.env.WARMSTART_NATIVE_KERNELS = 'off';
      try {
        expect([...hostRowsAtLeast(values, cut)]).toEqual(want);
      } finally {
        if (before === undefined) delete process.env.WARMSTART_NATIVE_KERNELS;
        else process.env.WARMSTART_NATIVE_KERNELS = before;
      }
    }
  });
});
