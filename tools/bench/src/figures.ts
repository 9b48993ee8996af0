/** One measured figure of a benchmark, as printed and as written to `--json`. */
export interface Figure {
  /** Stable dotted name, e.g. `adapt.single.steps5.p50`. */
  name: string;
  value: number;
  /** e.g. `ms`, `users/s`, `rows/s`, `MB`, `ratio`. */
  unit: string;
  /** Free-form context: backend, sizes, target. */
  note?: string;
}

/** Collects figures and prints each as it is measured. */
export class FigureLog {
  readonly figures: Figure[] = [];

  add(name: string, value: number, unit: string, note?: string): number {
    this.figures.push({ name, value, unit, ...(note ? { note } : {}) });
    const shown = Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(4);
    console.log(`  ${name.padEnd(48)} ${shown.padStart(12)} ${unit}${note ? `   (${note})` : ''}`);
    return value;
  }
}

/** Percentile (0..100) of a sample by nearest rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new RangeError('percentile of an empty sample');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** Wall-clock milliseconds of an async or sync function. */
export async function timeMs(fn: () => unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}
