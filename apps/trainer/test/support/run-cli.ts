import { buildCli } from '../../src/cli';
import { createLogger } from '../../src/util/logger';
import { silentProgress } from '@warmstart/evaluation';

/** Runs one `warmstart-trainer` command in-process, silently; resolves with what it printed. */
export async function runCli(args: string[]): Promise<string> {
  const lines: string[] = [];
  await buildCli({
    ctx: { out: (l) => lines.push(l), logger: createLogger('silent'), progress: silentProgress },
    writeErr: () => undefined,
  }).parseAsync(args, { from: 'user' });
  return lines.join('\n');
}

/** `import synthetic` of the tiny seeded dataset the trainer tests train on. */
export function syntheticImportArgs(database: string, users = 50): string[] {
  const sizes = ['--users', String(users), '--items', '40', '--interactions', '1500', '--seed', '1'];
  return ['import', 'synthetic', ...sizes, '--database', database];
}
