import { Command, Option } from 'commander';
import type { CommandContext } from './commands/context';
import { defaultDatasetLoader, evaluateCommand, type EvaluateFlags } from './commands/evaluate';
import { addStoreOptions, parseSeedList } from './options';
import { createLogger } from './util/logger';
import { createProgress } from './util/progress';
import { withInterrupt } from './util/interrupt';

export interface CliDeps {
  ctx?: Partial<CommandContext>;
  loadDataset?: typeof defaultDatasetLoader;
}

/** Builds the `warmstart-trainer` command line. */
export function buildCli(deps: CliDeps = {}): Command {
  const logger = deps.ctx?.logger ?? createLogger();
  const ctx: CommandContext = {
    out: deps.ctx?.out ?? ((line) => process.stdout.write(line + '\n')),
    logger,
    progress: deps.ctx?.progress ?? createProgress(logger),
  };
  const program = new Command('warmstart-trainer')
    .description('Meta-trains, evaluates and registers warmstart models')
    .showHelpAfterError()
    .exitOverride();

  addStoreOptions(
    program
      .command('evaluate')
      .description('run an evaluation protocol for every configured baseline and meta-learner')
      .addOption(new Option('--protocol <name>', 'evaluation protocol').choices(['p1']).default('p1'))
      .option(
        '--seeds <list>',
        'comma-separated seeds (default: evaluate.seeds of the config)',
        parseSeedList,
      )
      .requiredOption('--out <dir>', 'output directory for report.json, report.html and charts')
      .option('--config <file>', 'JSON or YAML config (default: built-in defaults)')
      .option('--movielens <dir>', 'read a MovieLens-100K directory directly instead of the feature store')
      .option('--methods <list>', 'only these methods (comma-separated names)', (v: string) =>
        v.split(',').map((s) => s.trim()),
      )
      .option('--resume', 'reuse results checkpointed in --out by an interrupted run'),
  ).action(async (flags: EvaluateFlags) => {
    await withInterrupt((signal) =>
      evaluateCommand(flags, ctx, deps.loadDataset ?? defaultDatasetLoader, signal),
    );
  });

  return program;
}
