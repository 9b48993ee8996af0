import * as fs from '@warmstart/feature-store';
import type { FeatureStore, ImportOptions, ImportReport } from '@warmstart/feature-store';
import { withStore } from '../data/store';
import type { ProgressBar } from '../util/progress';
import type { CommandContext } from './context';

export type Importer = (store: FeatureStore, options: ImportOptions) => Promise<ImportReport>;

/**
 * Runs one importer with a progress bar per phase. The feature store imports in one transaction,
 * so an interrupted import (Ctrl-C) leaves nothing behind.
 */
export async function runImport(
  label: string,
  database: string,
  importer: Importer,
  ctx: CommandContext,
  signal?: AbortSignal,
  skipBadRows = false,
): Promise<ImportReport> {
  return withStore(database, async (store) => {
    let phase = '';
    let bar: ProgressBar | undefined;
    const report = await importer(store, {
      signal,
      skipBadRows,
      onProgress: (p) => {
        if (p.phase !== phase) {
          bar?.stop();
          phase = p.phase;
          bar = p.total ? ctx.progress.start(`import ${label}: ${p.phase}`, p.total) : undefined;
        }
        bar?.update(p.done);
      },
    }).finally(() => bar?.stop());
    ctx.out(
      `imported ${label} into ${fs.redactCredentials(database)}: ${report.users} users, ${report.items} items, ` +
        `${report.interactions.ingested} interactions (${report.interactions.duplicates} duplicates), ` +
        `${report.rejected.length} rejected rows, ${(report.durationMs / 1000).toFixed(1)}s`,
    );
    for (const r of report.rejected.slice(0, 20))
      ctx.out(`  rejected ${r.file}:${r.line} ${r.field}: ${r.message}`);
    return report;
  });
}

export const importers = {
  'movielens-100k':
    (dir: string): Importer =>
    (store, o) =>
      fs.importMovieLens100k(store, dir, o),
  'movielens-1m':
    (dir: string): Importer =>
    (store, o) =>
      fs.importMovieLens1m(store, dir, o),
  synthetic:
    (opts: { users: number; items: number; interactions: number; seed: number }): Importer =>
    (store, o) =>
      fs.importSynthetic(
        store,
        { users: opts.users, items: opts.items, interactions: opts.interactions, seed: opts.seed },
        o,
      ),
};
