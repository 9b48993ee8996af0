#!/usr/bin/env node
// Regenerates libs/contracts/src/gen from proto/ with buf + ts-proto (both from npm, offline).
// `--check` regenerates into a temporary directory and fails if the committed code differs.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const genDir = join(root, 'libs/contracts/src/gen');
const check = process.argv.includes('--check');
const buf = join(root, 'node_modules/.bin/buf');

function listFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else out.push(p);
  }
  return out.sort();
}

function generate(outDir) {
  const template = readFileSync(join(root, 'buf.gen.yaml'), 'utf8').replaceAll(
    'out: libs/contracts/src/gen',
    `out: ${relative(root, outDir)}`,
  );
  const templatePath = join(mkdtempSync(join(tmpdir(), 'warmstart-buf-')), 'buf.gen.yaml');
  writeFileSync(templatePath, template);
  execFileSync(buf, ['lint'], { cwd: root, stdio: 'inherit' });
  execFileSync(buf, ['generate', '--template', templatePath], { cwd: root, stdio: 'inherit' });
}

if (!check) {
  rmSync(genDir, { recursive: true, force: true });
  generate(genDir);
  console.log(`contracts: generated ${listFiles(genDir).length} files into ${relative(root, genDir)}`);
} else {
  const tmp = mkdtempSync(join(root, 'tmp-contracts-'));
  try {
    generate(tmp);
    const fresh = listFiles(tmp).map((f) => relative(tmp, f));
    const committed = listFiles(genDir).map((f) => relative(genDir, f));
    const stale = [...new Set([...fresh, ...committed])].filter((f) => {
      try {
        return readFileSync(join(tmp, f), 'utf8') !== readFileSync(join(genDir, f), 'utf8');
      } catch {
        return true;
      }
    });
    if (stale.length > 0) {
      console.error(
        `contracts: generated code is stale (${stale.join(', ')}); run \`npm run contracts:generate\``,
      );
      process.exitCode = 1;
    } else console.log(`contracts: ${fresh.length} generated files are current`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
