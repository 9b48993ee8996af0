import { statSync } from 'node:fs';
import { redactCredentials } from '../database-url';
import { DatabaseUnavailableError } from '../errors';
import { resolveDatabase, type ResolvedDatabase } from './location';

/**
 * Refuses a SQLite path that is a directory, or that does not exist when `create` is false (a
 * typo in `--database` must not silently start an empty database). Nothing to check for
 * PostgreSQL or `:memory:` here: a server is checked when connecting (`connectionFailure`).
 */
export function checkSqliteFile(db: ResolvedDatabase, create: boolean): void {
  if (db.provider !== 'sqlite' || db.file === ':memory:') return;
  let isDirectory: boolean;
  try {
    isDirectory = statSync(db.file).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && create) return;
    if (code === 'ENOENT')
      throw new DatabaseUnavailableError(
        `${db.file} does not exist (a new SQLite database is created only by migrate or an import)`,
      );
    if (code === 'ENOTDIR')
      throw new DatabaseUnavailableError(`${db.file}: a parent of this path is a file, not a directory`);
    throw err;
  }
  if (isDirectory)
    throw new DatabaseUnavailableError(`${db.file} is a directory, not a SQLite database file`);
}

// Errors that mean "no server there": refused, unknown host, no route, timed out.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
]);
// PostgreSQL SQLSTATEs of a refused login or a missing database.
const LOGIN_CODES: Record<string, string> = {
  '28P01': 'password authentication failed',
  '28000': 'login refused',
  '3D000': 'the database does not exist',
};

/**
 * The DatabaseUnavailableError for a failed PostgreSQL connection attempt (one line naming the
 * server), or undefined when `err` is something else (e.g. a failing statement).
 */
export function connectionFailure(db: ResolvedDatabase, err: unknown): DatabaseUnavailableError | undefined {
  if (db.provider !== 'postgresql') return undefined;
  const e = err as { code?: string; message?: string; errors?: Array<{ code?: string }> };
  const code = e?.code ?? e?.errors?.find((x) => x.code)?.code;
  const message = String(e?.message ?? '');
  let reason: string | undefined;
  if (code && LOGIN_CODES[code]) reason = `${LOGIN_CODES[code]}: ${message}`;
  else if (code && NETWORK_CODES.has(code)) reason = describeNetwork(code);
  else if (/timeout expired|connection timeout/i.test(message))
    reason = `no answer within ${db.connectTimeoutMs / 1000} s (set ?connect_timeout=seconds to wait longer)`;
  else if (/Connection terminated unexpectedly/i.test(message)) reason = 'the server closed the connection';
  if (!reason) return undefined;
  return new DatabaseUnavailableError(
    `cannot connect to PostgreSQL at ${where(db.connectionString)}: ${reason}`,
    {
      cause: err,
    },
  );
}

function describeNetwork(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running and listening there?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host';
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'host unreachable';
    default:
      return code;
  }
}

/** host:port/database of a connection string, credentials never included. */
function where(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
  } catch {
    return redactCredentials(connectionString);
  }
}

/**
 * Checks a `--database` value before a command that must not create a database runs: a SQLite
 * path must name an existing file (not a directory). PostgreSQL is checked when connecting.
 */
export function checkExistingDatabase(database: string | undefined): void {
  checkSqliteFile(resolveDatabase(database), false);
}
