#!/usr/bin/env node
// The `warmstart-serve` bin: a committed file, so npm links it at install time; the root `prepare`
// script builds dist/ right after `npm ci`.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(
    `warmstart-serve is not built (${main} is missing): run \`npx nx build @warmstart/serving\`\n`,
  );
  process.exit(1);
}
require(main);
