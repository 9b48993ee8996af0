import * as fs from '@warmstart/feature-store';
import type { FeatureStore, ImportOptions, ImportReport } from '@warmstart/feature-store';
import { withStore } from '../data/store';
import type { CommandContext } from './context';
import { stopError } from '../util/interrupt';
import { type ProgressBar } from '../util/progress';

export type Importer = (store: FeatureStore, options: ImportOptions) => Promise<ImportReport>;

/** Bad-row flags every import takes. */
export interface ImportFlags {
  skipBadRows?: boolean;
  maxBadRows?: number;
  /** The users and items feature files (generic import), whose columns other flags name. */
  users?: string;
  items?: string;
}

const COLUMN_FLAGS =
  '--user-column, --item-column, --value-column, --weight-column, --time-column, --event-id-column';
const FEATURE_COLUMN_FLAGS = '--id-column, --user-fields, --item-fields, --available-at-column';

/** What `import` prints about the data it read: kind, scale, time span, entities and features. */
export function describeImport(report: ImportReport): string[] {
  const s = report.summary;
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const kind =
    s.profile.kind === 'explicit'
      ? `explicit ratings on ${s.profile.scale![0]}..${s.profile.scale![1]}`
      : 'implicit (every interaction is a positive, stored as value 1' +
        (s.notPositive > 0 ? `; ${s.notPositive} rows with weight <= 0 left out` : '') +
        ')';
  const times = s.timeSpan
    ? `${day(s.timeSpan.first)} .. ${day(s.timeSpan.last)}`
    : s.profile.hasTimes
      ? 'none read'
      : 'none (the data has no event times)';
  return [
    `  kind: ${kind}`,
    `  times: ${times}`,
    `  read: ${s.users} users (${s.usersWithFeatures} with features), ${s.items} items ` +
      `(${s.itemsWithFeatures} with features), ${s.interactions} interactions`,
  ];
}

/**
 * Runs one importer with a progress bar per phase. The feature store imports in one transaction,
 * so an interrupted import (Ctrl-C, SIGTERM) leaves nothing behind and ends as a cancellation
 * (exit 130).
 */
export async function runImport(
  label: string,
  database: string,
  importer: Importer,
  ctx: CommandContext,
  signal?: AbortSignal,
  flags: ImportFlags = {},
): Promise<ImportReport> {
  return withStore(database, async (store) => {
    let phase = '';
    let bar: ProgressBar | undefined;
    let report: ImportReport;
    try {
      report = await importer(store, {
        signal,
        skipBadRows: flags.skipBadRows ?? false,
        ...(flags.maxBadRows !== undefined ? { maxBadRows: flags.maxBadRows } : {}),
        onProgress: (p) => {
          if (p.phase !== phase) {
            bar?.stop();
            phase = p.phase;
            const name = p.phase === 'parse' ? 'check (bytes)' : p.phase;
            bar = p.total ? ctx.progress.start(`import ${label}: ${name}`, p.total) : undefined;
          }
          bar?.update(p.done);
        },
      }).finally(() => bar?.stop());
    } catch (err) {
      if (signal?.aborted) throw stopError(signal, 'import interrupted; nothing was written');
      if (err instanceof fs.ImportError && err.detail.startsWith('the header has no column')) {
        const featureFile = err.file === flags.users || err.file === flags.items;
        const named = featureFile ? FEATURE_COLUMN_FLAGS : COLUMN_FLAGS;
        throw new Error(`${err.message} (name the columns with ${named})`, { cause: err });
      }
      throw err;
    }
    ctx.out(
      fs.redactCredentials(
        `imported ${label} into ${database}: ${report.users} users, ${report.items} items, ` +
          `${report.interactions.ingested} interactions (${report.interactions.duplicates} duplicates), ` +
          `${report.badRows} rejected rows, ${(report.durationMs / 1000).toFixed(1)}s`,
      ),
    );
    for (const line of describeImport(report)) ctx.out(line);
    for (const r of report.rejected.slice(0, 20))
      ctx.out(`  rejected ${r.file}:${r.line} ${r.field}: ${r.message}`);
    if (report.badRows > 20) ctx.out(`  ... and ${report.badRows - 20} more rejected rows`);
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
    (opts: {
      users: number;
      items: number;
      interactions: number;
      seed: number;
      kind?: 'explicit' | 'implicit';
      userFeatures?: boolean;
      itemFeatures?: boolean;
      times?: boolean;
    }): Importer =>
    (store, o) =>
      fs.importSynthetic(
        store,
        {
          users: opts.users,
          items: opts.items,
          interactions: opts.interactions,
          seed: opts.seed,
          ...(opts.kind ? { kind: opts.kind } : {}),
          ...(opts.userFeatures === false ? { userFeatures: false } : {}),
          ...(opts.itemFeatures === false ? { itemFeatures: false } : {}),
          ...(opts.times === false ? { times: false } : {}),
        },
        o,
      ),
};
