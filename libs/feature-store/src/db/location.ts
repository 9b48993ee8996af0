import { isAbsolute, resolve } from 'node:path';
import { parseDatabaseLocation } from '../database-url';

/** A resolved backend: an absolute SQLite file, or a PostgreSQL connection string plus schema. */
export type ResolvedDatabase =
  | { provider: 'sqlite'; file: string }
  | { provider: 'postgresql'; connectionString: string; schema: string; connectTimeoutMs: number };

/** How long a PostgreSQL connection attempt may take unless the URL sets `connect_timeout`. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * Resolves a `--database` value. For PostgreSQL, the Prisma-style `?schema=name` parameter selects
 * the schema (default `public`) and is removed from the URL handed to `pg`; libpq's
 * `?connect_timeout=seconds` bounds each connection attempt (default 10 s), so an unroutable host
 * fails instead of hanging.
 */
export function resolveDatabase(database: string | undefined): ResolvedDatabase {
  const location = parseDatabaseLocation(database);
  if (location.provider === 'sqlite') {
    const file =
      location.file === ':memory:' || isAbsolute(location.file) ? location.file : resolve(location.file);
    return { provider: 'sqlite', file };
  }
  const url = new URL(location.url);
  const schema = url.searchParams.get('schema') ?? 'public';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`database: schema "${schema}" must be a plain identifier`);
  }
  url.searchParams.delete('schema');
  const timeout = url.searchParams.get('connect_timeout');
  const seconds = timeout === null ? NaN : Number(timeout);
  if (timeout !== null && !(Number.isFinite(seconds) && seconds > 0)) {
    throw new Error(`database: connect_timeout "${timeout}" must be a positive number of seconds`);
  }
  const connectTimeoutMs = timeout === null ? DEFAULT_CONNECT_TIMEOUT_MS : Math.round(seconds * 1000);
  return { provider: 'postgresql', connectionString: url.toString(), schema, connectTimeoutMs };
}
