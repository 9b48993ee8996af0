#!/usr/bin/env node
import { redactCredentials } from '@warmstart/feature-store';
import { CommanderError } from 'commander';
import { buildCli } from './cli';
import { isCancellation } from './util/interrupt';

buildCli()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    if (err instanceof CommanderError) {
      // commander already printed its message (help, unknown option, bad argument)
      process.exitCode = err.exitCode;
    } else if (isCancellation(err)) {
      process.stderr.write(`cancelled: ${(err as Error).message}\n`);
      process.exitCode = 130;
    } else {
      process.stderr.write(`error: ${redactCredentials(errorLine(err))}\n`);
      process.exitCode = 1;
    }
  });

/** One line; a database that cannot be used names the flag that chose it. */
function errorLine(err: unknown): string {
  if (err instanceof Error && err.name === 'DatabaseUnavailableError')
    return `--database: ${(err as Error & { detail: string }).detail}`;
  return err instanceof Error ? err.message : String(err);
}
