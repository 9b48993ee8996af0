#!/usr/bin/env node
// The `warmstart-trainer` bin: a committed file, so npm links it at install time; the root `prepare`
// script builds dist/ right after `npm ci`.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(
    `warmstart-trainer is not built (${main} is missing): run \`npx nx build @warmstart/trainer\`\n`,
  );
  process.exit(1);
}
require(main);
