/**
 * The half-precision first-stage scan (native/half_scan.cc, native-kernels.ts): conversions
 * bit-exact with IEEE round-to-nearest-even on both code paths (F16C and portable), products
 * within the documented error bound, and values a half cannot hold refused.
 */
import * as path from 'node:path';
import { useNativeKernels } from '../src';
import type { Addon } from '../src/native-addon';
import { halfScanError, hostHalfMatVec, hostToHalf } from '../src/native-kernels';
import { Rng } from '../src/rng';

const status = useNativeKernels('cpu');
const required = process.env.WARMSTART_REQUIRE_NATIVE_KERNELS === '1';
if (!status.active && !required) console.warn(`half-scan.spec: skipped: ${status.reason}`);
const describeNative = status.active || required ? describe : describe.skip;

/** A float's nearest half (ties to even) by arithmetic on doubles: the reference. */
function referenceHalf(f: number): number {
  const sign = f < 0 || Object.is(f, -0) ? 0x8000 : 0;
  const a = Math.abs(f);
  if (Number.isNaN(f)) return 0x7e00;
  if (a >= 65520) return sign | 0x7c00;
  const roundEven = (x: number) => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  if (a < 2 ** -14) return sign | roundEven(a * 2 ** 24); // subnormal (1024 is the smallest normal)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // log2 rounding
  if (2 ** (e + 1) <= a) e++;
  let m = roundEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  return sign | ((e + 15) << 10) | m;
}

function halfValue(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const v = e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

describeNative('half-precision scan kernels', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib = require(path.resolve(__dirname, '../native/build/Release/warmstart_kernels.node')) as Addon & {
    toHalf(src: Float32Array, dst: Uint16Array, portable?: boolean): number;
    halfMatVec(
      a: Uint16Array,
      x: Float32Array,
      out: Float32Array,
      m: number,
      k: number,
      portable?: boolean,
    ): void;
  };

  it('converts every half to a float and back unchanged, on both paths', () => {
    const halves = Uint16Array.from({ length: 0x7c00 }, (_, i) => i); // every finite non-negative half
    const floats = Float32Array.from(halves, halfValue);
    for (const portable of [false, true]) {
      const back = new Uint16Array(halves.length);
      expect(lib.toHalf(floats, back, portable)).toBe(65504);
      expect(back).toEqual(halves);
      const wide = new Float32Array(halves.length);
      for (let i = 0; i < halves.length; i += 997) {
        lib.halfMatVec(
          halves.subarray(i, i + 1),
          Float32Array.of(1),
          wide.subarray(i, i + 1),
          1,
          1,
          portable,
        );
        expect(wide[i]).toBe(floats[i]);
      }
    }
  });

  it('rounds floats to the nearest half, ties to even, subnormals and overflow included, on both paths', () => {
    const rng = new Rng(11);
    const values = Float32Array.from({ length: 50_000 }, (_, i) => {
      const scale = 2 ** (Math.floor(rng.next() * 44) - 28); // from below the subnormals to past 65504
      return (rng.next() * 2 - 1) * scale * (i % 7 === 0 ? 1 : 1.000244140625); // some exact ties
    });
    // Exact ties between two halves: 1 + 2^-11, 1 + 3 * 2^-11, and the largest half plus half an ulp.
    const ties = Float32Array.of(1 + 2 ** -11, 1 + 3 * 2 ** -11, 65520, -(2 ** -25), 3 * 2 ** -25);
    for (const src of [values, ties]) {
      const expected = Uint16Array.from(src, referenceHalf);
      for (const portable of [false, true]) {
        const got = new Uint16Array(src.length);
        lib.toHalf(src, got, portable);
        expect(got).toEqual(expected);
      }
    }
  });

  it('multiplies half rows by a float vector within the error bound, both paths alike', () => {
    const rng = new Rng(3);
    for (const [m, k] of [
      [1, 1],
      [7, 65],
      [1000, 65],
      [33, 17],
    ] as const) {
      const rows = Float32Array.from(
        { length: m * k },
        () => (rng.next() * 2 - 1) * 2 ** (rng.next() * 12 - 8),
      );
      const x = Float32Array.from({ length: k }, () => rng.next() * 4 - 2);
      const half = hostToHalf(rows, k)!;
      expect(half).not.toBeNull();
      const fast = new Float32Array(m);
      const slow = new Float32Array(m);
      hostHalfMatVec(half.values, x, fast, m, k);
      lib.halfMatVec(half.values, x, slow, m, k, true);
      const bound = halfScanError(x, half.maxRowNorm);
      let worst = 0;
      for (let r = 0; r < m; r++) {
        let exact = 0;
        let halfExact = 0;
        for (let c = 0; c < k; c++) {
          exact += rows[r * k + c]! * x[c]!;
          halfExact += halfValue(half.values[r * k + c]!) * x[c]!;
        }
        worst = Math.max(worst, Math.abs(fast[r]! - exact));
        expect(Math.abs(fast[r]! - exact)).toBeLessThanOrEqual(bound);
        expect(Math.abs(slow[r]! - exact)).toBeLessThanOrEqual(bound);
        // Both accumulate the same halves in float32: within float32 rounding of each other.
        expect(Math.abs(fast[r]! - halfExact)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(halfExact)));
      }
      expect(worst).toBeGreaterThan(0); // the rounding is real, and the bound covers it
    }
  });

  it('refuses rows a half cannot hold (65504 and beyond, NaN) and checks its arguments', () => {
    expect(hostToHalf(Float32Array.of(1, 70000), 2)).toBeNull();
    expect(hostToHalf(Float32Array.of(1, NaN, 2, 3), 2)).toBeNull();
    expect(hostToHalf(Float32Array.of(3, 4, 0, 1), 2)).toMatchObject({ width: 2, maxRowNorm: 5 });
    expect(() => lib.halfMatVec(new Uint16Array(6), new Float32Array(3), new Float32Array(3), 3, 3)).toThrow(
      /lengths/,
    );
    expect(() => lib.toHalf(new Float32Array(3), new Uint16Array(2))).toThrow(/same length/);
  });
});

describe('half-precision scan without the native kernels', () => {
  it('is not used: hostToHalf returns null with WARMSTART_NATIVE_KERNELS=off', () => {
    const before = process.env.WARMSTART_NATIVE_KERNELS;
    process.env.WARMSTART_NATIVE_KERNELS = 'off';
    try {
      expect(hostToHalf(Float32Array.of(1, 2), 2)).toBeNull();
    } finally {
      if (before === undefined) delete process.env.WARMSTART_NATIVE_KERNELS;
      else process.env.WARMSTART_NATIVE_KERNELS = before;
    }
  });
});
