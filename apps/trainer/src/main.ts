#!/usr/bin/env node
import { buildCli } from './cli';

buildCli()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    const code = (err as { exitCode?: number }).exitCode;
    process.exitCode = typeof code === 'number' ? code : 1;
  });
