import { Command } from 'commander';

/** Builds the `warmstart-trainer` command line. Commands are registered as they land. */
export function buildCli(): Command {
  return new Command('warmstart-trainer')
    .description('Meta-trains, evaluates and registers warmstart models')
    .showHelpAfterError()
    .exitOverride();
}
