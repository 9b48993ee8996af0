import { InvalidArgumentError, Option, type Command } from 'commander';
import { addStoreOptions, parseIntArg, type StoreOptions } from '../options';
import { withInterrupt } from '../util/interrupt';
import type { CommandContext } from './context';
import { importers, runImport, type ImportFlags } from './import';
import { genericImporter, parseFieldList, type GenericFlags } from './import-generic';

/** `--max-bad-rows 0.05` (a fraction of a file's rows) or `--max-bad-rows 100` (a count). */
export function parseMaxBadRows(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (n >= 1 && !Number.isInteger(n)))
    throw new InvalidArgumentError(
      `--max-bad-rows must be a fraction in [0, 1) or a whole count, got "${value}"`,
    );
  return n;
}

/** Flags every import shares: bad-row handling. */
function addBadRowOptions(cmd: Command): Command {
  return cmd
    .option('--skip-bad-rows', 'leave malformed rows out (listed) instead of failing')
    .option(
      '--max-bad-rows <n>',
      'with --skip-bad-rows, fail anyway when a file has more bad rows: a fraction of its rows (< 1) or a count',
      parseMaxBadRows,
      0.01,
    );
}

/** The `import` command and its subcommands (movielens-100k|1m, synthetic, csv, jsonl). */
export function addImportCommands(program: Command, ctx: CommandContext): void {
  const imp = program.command('import').description('load data into the feature store');
  for (const name of ['movielens-100k', 'movielens-1m'] as const) {
    addStoreOptions(
      addBadRowOptions(
        imp
          .command(name)
          .description(
            `import a ${name === 'movielens-100k' ? 'MovieLens-100K (u.data, u.item, u.user)' : 'MovieLens-1M (*.dat)'} directory (explicit 1..5 ratings with times)`,
          )
          .requiredOption('--dir <path>', 'dataset directory'),
      ),
    ).action(async (flags: StoreOptions & ImportFlags & { dir: string }) => {
      await withInterrupt((signal) =>
        runImport(name, flags.database, importers[name](flags.dir), ctx, signal, flags),
      );
    });
  }

  addStoreOptions(
    imp
      .command('synthetic')
      .description('generate seeded latent-factor data (content features predict ratings)')
      .option('--users <n>', 'users', parseIntArg('--users', 1), 1000)
      .option('--items <n>', 'items', parseIntArg('--items', 1), 500)
      .option('--interactions <n>', 'interactions', parseIntArg('--interactions', 1), 50_000)
      .option('--seed <n>', 'seed', parseIntArg('--seed', 0), 0)
      .addOption(
        new Option('--kind <kind>', 'explicit 1..5 ratings, or implicit positives')
          .choices(['explicit', 'implicit'])
          .default('explicit'),
      )
      .option('--no-user-features', 'users without features')
      .option('--no-item-features', 'items without features')
      .option('--no-times', 'interactions without event times'),
  ).action(
    async (
      flags: StoreOptions & {
        users: number;
        items: number;
        interactions: number;
        seed: number;
        kind: 'explicit' | 'implicit';
        userFeatures: boolean;
        itemFeatures: boolean;
        times: boolean;
      },
    ) => {
      await withInterrupt((signal) =>
        runImport('synthetic', flags.database, importers.synthetic(flags), ctx, signal),
      );
    },
  );

  for (const format of ['csv', 'jsonl'] as const) {
    const csv = format === 'csv';
    const cmd = addStoreOptions(
      addBadRowOptions(
        imp
          .command(format)
          .description(
            csv
              ? 'import interactions (and optional user/item feature files) from delimited text with a header row'
              : 'import interactions (and optional user/item feature files) from JSON lines',
          )
          .requiredOption(
            '--interactions <file>',
            'interactions: user, item, rating (explicit) or optional weight (implicit), optional time and event id',
          )
          .addOption(
            new Option('--kind <kind>', 'explicit ratings, or implicit feedback (plays, clicks, purchases)')
              .choices(['explicit', 'implicit'])
              .default('explicit'),
          )
          .option('--scale <low:high>', 'declared rating scale of explicit data (default 1:5)', parseScale)
          .option('--user-column <name>', 'user id column', 'user_id')
          .option('--item-column <name>', 'item id column', 'item_id')
          .option('--value-column <name>', 'rating column (implicit: the weight when present)', 'value')
          .option(
            '--weight-column <name>',
            'implicit: count/weight column; rows with weight <= 0 are not positives (default: the value column if present)',
          )
          .option(
            '--time-column <name>',
            'event time column: unix s, unix ms or ISO 8601 (default timestamp; data without it has no times)',
          )
          .option('--event-id-column <name>', 'event id column (optional)', 'event_id')
          .option('--users <file>', 'user features file (needs --user-fields)')
          .option('--items <file>', 'item features file (needs --item-fields)')
          .option(
            '--user-fields <list>',
            'name:categorical|multi_categorical|numeric|text,... (may be empty)',
            parseFieldList('--user-fields'),
          )
          .option(
            '--item-fields <list>',
            'name:categorical|multi_categorical|numeric|text,... (may be empty)',
            parseFieldList('--item-fields'),
          )
          .option('--id-column <name>', 'id column of the users/items files', 'id')
          .option(
            '--available-at-column <name>',
            'items file column with the time the item became available (default: its first interaction)',
          )
          .option('--list-separator <sep>', 'separator of multi-valued cells', '|')
          .option('--source <name>', 'event id prefix when the file has no event id column')
          .option(
            '--dataset-name <name>',
            "the dataset's name, kept in the store for evaluation reports (default: the interactions file's base name)",
          ),
      ),
    );
    if (csv)
      cmd.option(
        '--delimiter <char>',
        'cell separator: one character, or "tab" (default: tab for .tsv/.tab, else ",")',
      );
    cmd.action(async (flags: StoreOptions & GenericFlags & ImportFlags) => {
      const importer = genericImporter(format, flags);
      await withInterrupt((signal) => runImport(format, flags.database, importer, ctx, signal, flags));
    });
  }
}

/** `--scale 0.5:4` */
export function parseScale(value: string): [number, number] {
  const parts = value.split(':').map((s) => s.trim());
  const [low, high] = parts.map(Number);
  if (
    parts.length !== 2 ||
    parts.some((p) => p === '') ||
    !Number.isFinite(low) ||
    !Number.isFinite(high) ||
    !(low < high)
  )
    throw new InvalidArgumentError(
      `--scale must be low:high with low < high (e.g. 1:5 or 0.5:4), got "${value}"`,
    );
  return [low, high];
}
