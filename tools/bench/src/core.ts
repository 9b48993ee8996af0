import type { FigureLog } from './figures';

/** Benchmarks of core (filled in with the package). */
export async function run(_log: FigureLog, _options: Record<string, string | boolean>): Promise<void> {
  throw new Error('bench core: not implemented yet');
}
