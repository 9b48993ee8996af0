import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configSchema, type TrainerConfig } from './schema';

/** A bad configuration value; `field` is the dotted key path, e.g. `train.innerLr`. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Validates a parsed object and fills the defaults. */
export function parseConfig(raw: unknown, source = 'config'): TrainerConfig {
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) throw toConfigError(result.error, source);
  return result.data;
}

/** Reads a JSON (.json) or YAML (.yaml/.yml, or anything else) config file; no file = defaults. */
export function loadConfig(path?: string): TrainerConfig {
  if (!path) return parseConfig({});
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', `cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = extname(path).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(
      '--config',
      `${path} is not valid ${extname(path) === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    );
  }
  return parseConfig(raw, path);
}

function toConfigError(error: z.ZodError, source: string): ConfigError {
  const issue = error.issues[0];
  let path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    path = path ? `${path}.${key}` : key;
    return new ConfigError(path, `unknown key in ${source}`);
  }
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more problem(s))` : '';
  return new ConfigError(path || '(root)', `${issue.message} in ${source}${more}`);
}
