import type { FigureLog } from './figures';

/** Benchmarks of serving (filled in with the package). */
export async function run(_log: FigureLog, _options: Record<string, string | boolean>): Promise<void> {
  throw new Error('bench serving: not implemented yet');
}
