import { InvalidArgumentError, Option, type Command } from 'commander';

/** Same flags and defaults as the server, so both share one registry (docs/internal-api.md). */
export const DEFAULT_DATABASE = './data/warmstart.db';
export const DEFAULT_ARTIFACTS = './models';

export interface StoreOptions {
  database: string;
  artifacts: string;
}

/** Only `--database` (commands that never touch artifacts, e.g. `migrate`). */
export function addDatabaseOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('--database <path-or-url>', 'SQLite file path or postgresql:// URL')
      .env('WARMSTART_DATABASE')
      .default(DEFAULT_DATABASE),
  );
}

export function addStoreOptions(cmd: Command): Command {
  return addDatabaseOption(cmd).addOption(
    new Option('--artifacts <dir>', 'model artifact directory')
      .env('WARMSTART_ARTIFACTS')
      .default(DEFAULT_ARTIFACTS),
  );
}

export function parseIntArg(name: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${value}"`);
    return n;
  };
}

/** `--seeds 0,1,2` */
export function parseSeedList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const seeds = parts.map(Number);
  if (parts.length === 0 || seeds.some((s, i) => parts[i] === '' || !Number.isInteger(s))) {
    throw new InvalidArgumentError(`--seeds must be a comma-separated list of integers, got "${value}"`);
  }
  return seeds;
}
