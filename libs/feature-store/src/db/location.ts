import { isAbsolute, resolve } from 'node:path';
import { parseDatabaseLocation } from '../database-url';

/** A resolved backend: an absolute SQLite file, or a PostgreSQL connection string plus schema. */
export type ResolvedDatabase =
  { provider: 'sqlite'; file: string } | { provider: 'postgresql'; connectionString: string; schema: string };

/**
 * Resolves a `--database` value. For PostgreSQL, the Prisma-style `?schema=name` parameter selects
 * the schema (default `public`) and is removed from the URL handed to `pg`.
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
  return { provider: 'postgresql', connectionString: url.toString(), schema };
}
