/**
 * `npm run bench -- <suite...> [--json <file>]`: runs benchmark suites (core, feature-store,
 * serving; all when none is named), prints every figure, and writes them as JSON when asked.
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { FigureLog } from './figures';
import { run as runCore } from './core';
import { run as runFeatureStore } from './feature-store';
import { run as runServing } from './serving';

type Suite = (log: FigureLog, options: Record<string, string | boolean>) => Promise<void>;

const suites: Record<string, Suite> = {
  core: runCore,
  'feature-store': runFeatureStore,
  serving: runServing,
};

async function main(): Promise<void> {
  const program = new Command('bench')
    .argument('[suites...]', `suites to run: ${Object.keys(suites).join(', ')}`)
    .option('--json <file>', 'also write every figure to this JSON file')
    .option('--quick', 'smaller sizes (a smoke run, not comparable figures)')
    .option('--configs <names>', 'core: only these model configurations (comma-separated)')
    .allowUnknownOption(false)
    .parse(process.argv);
  const names: string[] = program.args.length > 0 ? program.args : Object.keys(suites);
  const unknown = names.filter((n) => !(n in suites));
  if (unknown.length > 0) throw new Error(`unknown benchmark suite(s): ${unknown.join(', ')}`);
  const options = program.opts<{ json?: string; quick?: boolean; configs?: string }>();
  const log = new FigureLog();
  const results: Record<string, unknown> = {};
  for (const name of names) {
    console.log(`\n== bench ${name} ==`);
    const start = log.figures.length;
    await suites[name](log, {
      quick: options.quick ?? false,
      ...(options.configs !== undefined && { configs: options.configs }),
    });
    results[name] = log.figures.slice(start);
  }
  if (options.json) {
    const doc = {
      createdAt: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      suites: results,
    };
    writeFileSync(options.json, JSON.stringify(doc, null, 2) + '\n');
    console.log(`\nwrote ${log.figures.length} figures to ${options.json}`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
