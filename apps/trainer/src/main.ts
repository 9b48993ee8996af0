#!/usr/bin/env node
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
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    }
  });
