#!/usr/bin/env node
// The build step of `npm run trainer`, `serve`, `demo` and `bench` (and the root `prepare`): runs
// `nx <args>` and prints nothing when every task comes from Nx's cache. A task that really builds
// is named on one line as it starts; a failed build prints Nx's whole output and exits with its
// code. The script that calls this then `exec`s the app, so signals reach the process doing the work.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

const require = createRequire(import.meta.url);
const nx = join(dirname(require.resolve('nx/package.json')), require('nx/package.json').bin.nx);
const started = Date.now();
const child = spawn(process.execPath, [nx, ...process.argv.slice(2), '--output-style=static'], {
  // No prompt can appear (stdin is not a terminal); never contact Nx Cloud (see also nx.json).
  env: { ...process.env, NX_NO_CLOUD: 'true', NX_TUI: 'false' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const output = [];
let built = 0;
let partial = '';
child.stderr.on('data', (c) => output.push(c));
child.stdout.on('data', (c) => {
  output.push(c);
  const lines = (partial + c.toString()).split('\n');
  partial = lines.pop() ?? '';
  for (const line of lines) {
    // "> nx run <project>:<target>" starts a task; a cached one carries "[local cache]" or
    // "[existing outputs match the cache, left as is]".
    // Nx colours its output in some environments (CI=true): match the text without the escapes.
    const task = /^> nx run (\S+)\s*(\[.*\])?\s*$/.exec(stripVTControlCharacters(line).trim());
    if (task && !task[2]) {
      built++;
      process.stderr.write(`building ${task[1]}...\n`);
    }
  }
});

child.on('close', (code, signal) => {
  if (code === 0) {
    if (built > 0) process.stderr.write(`built in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    return;
  }
  process.stderr.write(Buffer.concat(output));
  process.exit(code ?? (signal ? 1 : 0));
});
