import { checkExistingDatabase, redactCredentials } from '@warmstart/feature-store';
import { Command, Option } from 'commander';
import type { CommandContext } from './commands/context';
import { defaultDatasetLoader, evaluateCommand, type EvaluateFlags } from './commands/evaluate';
import { addImportCommands } from './commands/import-cli';
import { migrateCommand, type MigrateFlags } from './commands/migrate';
import { modelsList, modelsPromote, modelsRollback, modelsShow, type RegistryFlags } from './commands/models';
import { runsList, runsShow } from './commands/runs';
import { demoProgram } from './demo/run-demo';
import { scheduleCommand, type ScheduleFlags } from './commands/schedule';
import { trainCommand, type TrainFlags } from './commands/train';
import { addDatabaseOption, addStoreOptions, parseIntArg, parseSeedList } from './options';
import { createLogger, LOG_FORMATS, LogSink, type LogFormat } from './util/logger';
import { createProgress } from './util/progress';
import { withInterrupt } from './util/interrupt';

export interface CliDeps {
  ctx?: Partial<CommandContext>;
  loadDataset?: typeof defaultDatasetLoader;
  /** Where commander writes help and usage errors (tests silence it). */
  writeErr?: (text: string) => void;
}

/** Builds the `warmstart-trainer` command line. */
export function buildCli(deps: CliDeps = {}): Command {
  const sink = new LogSink();
  const logger = deps.ctx?.logger ?? createLogger(undefined, sink);
  const print = deps.ctx?.out ?? ((line) => process.stdout.write(line + '\n'));
  const ctx: CommandContext = {
    // Results may name the --database value: never print its password.
    out: (line) => print(redactCredentials(line)),
    logger,
    progress: deps.ctx?.progress ?? createProgress(logger),
  };
  const program = new Command('warmstart-trainer')
    .description('Meta-trains, evaluates and registers warmstart models')
    .addOption(
      new Option('--log-format <format>', 'log lines: pretty (default on a terminal) or json (otherwise)')
        .choices(LOG_FORMATS)
        .env('WARMSTART_LOG_FORMAT'),
    )
    .hook('preAction', () => {
      const format = program.opts<{ logFormat?: LogFormat }>().logFormat;
      if (format) sink.format = format;
    })
    .showHelpAfterError()
    .exitOverride();
  if (deps.writeErr) program.configureOutput({ writeErr: deps.writeErr, writeOut: deps.writeErr });
  // Commands that read an existing store fail on a missing SQLite file instead of creating one
  // (only migrate, import and the demo create a database).
  const existingStore = (cmd: Command, readsStore = () => true) =>
    addStoreOptions(cmd).hook('preAction', (_self, action) => {
      const flags = action.opts<{ database?: string; movielens?: string }>();
      if (!flags.movielens && readsStore()) checkExistingDatabase(flags.database);
    });

  // migrate
  addDatabaseOption(
    program
      .command('migrate')
      .description('apply pending feature-store migrations (other commands also apply them on open)'),
  ).action(async (flags: MigrateFlags) => {
    await migrateCommand(flags, ctx);
  });

  // import
  addImportCommands(program, ctx);

  // train
  existingStore(
    program
      .command('train')
      .description('meta-train on the feature store snapshot, register a candidate, promote it if better')
      .option('--config <file>', 'JSON or YAML config (default: built-in defaults)')
      .option('--promote', 'promote the new model even if it does not beat the promoted one')
      .option(
        '--resume [runId]',
        'continue an interrupted run from its last checkpoint (default: the latest)',
      )
      .option('--dataset-name <name>', "label for logs (default: the name the store's import recorded)"),
  ).action(async (flags: TrainFlags) => {
    await withInterrupt((signal) => trainCommand(flags, ctx, signal));
  });

  // schedule
  existingStore(
    program
      .command('schedule')
      .description('run `train` on a cron schedule, one run at a time across processes')
      .requiredOption('--cron <expr>', 'cron expression, e.g. "0 3 * * *" (seconds field optional)')
      .option('--config <file>', 'JSON or YAML config for each run'),
  ).action(async (flags: ScheduleFlags) => {
    await withInterrupt((signal) => scheduleCommand(flags, ctx, signal));
  });

  // evaluate
  existingStore(
    program
      .command('evaluate')
      .description('run an evaluation protocol for every configured baseline and meta-learner')
      .addOption(new Option('--protocol <name>', 'evaluation protocol').choices(['p1', 'p2']).default('p1'))
      .option(
        '--seeds <list>',
        'comma-separated seeds (default: evaluate.seeds of the config)',
        parseSeedList,
      )
      .requiredOption('--out <dir>', 'output directory for report.json, report.html and charts')
      .option('--config <file>', 'JSON or YAML config (default: built-in defaults)')
      .option('--movielens <dir>', 'read a MovieLens-100K directory directly instead of the feature store')
      .option(
        '--dataset-name <name>',
        "dataset label in the report (default: the name the store's import recorded, else the database's file or database name)",
      )
      .option('--methods <list>', 'only these methods (comma-separated names)', (v: string) =>
        v.split(',').map((s) => s.trim()),
      )
      .option('--resume', 'reuse results checkpointed in --out by an interrupted run'),
    () => deps.loadDataset === undefined, // an injected loader (tests) reads no store
  ).action(async (flags: EvaluateFlags) => {
    await withInterrupt((signal) =>
      evaluateCommand(flags, ctx, deps.loadDataset ?? defaultDatasetLoader, signal),
    );
  });

  // models
  const models = program.command('models').description('the model registry');
  const reg = (cmd: Command) => existingStore(cmd.option('--json', 'print JSON'));
  reg(
    models
      .command('list')
      .description('list model versions, newest first')
      .option('--status <status>', 'candidate | promoted | retired'),
  ).action((flags: RegistryFlags & { status?: string }) => modelsList(flags, ctx));
  reg(models.command('show').description('show one model version').argument('<modelId>')).action(
    (id: string, flags: RegistryFlags) => modelsShow(id, flags, ctx),
  );
  reg(
    models
      .command('promote')
      .description('promote a model version (serving picks it up)')
      .argument('<modelId>'),
  ).action((id: string, flags: RegistryFlags) => modelsPromote(id, flags, ctx));
  reg(models.command('rollback').description('re-promote the previously promoted version')).action(
    (flags: RegistryFlags) => modelsRollback(flags, ctx),
  );

  // runs
  const runs = program.command('runs').description('training runs');
  reg(
    runs
      .command('list')
      .description('list runs, newest first')
      .option('--status <status>', 'running | succeeded | failed | cancelled')
      .option('--limit <n>', 'at most this many', parseIntArg('--limit', 1), 50),
  ).action((flags: RegistryFlags & { status?: string; limit?: number }) => runsList(flags, ctx));
  reg(runs.command('show').description('show one run').argument('<runId>')).action(
    (id: string, flags: RegistryFlags) => runsShow(id, flags, ctx),
  );

  program.addCommand(demoProgram());

  return program;
}
