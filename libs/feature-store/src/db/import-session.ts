import type { ResolvedDatabase } from './location';
import { openPostgresImport } from './postgres-import';
import type { SqlRunner } from './runner';
import { openSqliteImport } from './sqlite-import';

/**
 * One import's own connection, inside one transaction begun when it is opened: the importers write
 * through it with the database's bulk path instead of through Prisma (better-sqlite3 prepared
 * statements on SQLite, COPY on PostgreSQL). `end` commits or rolls back and closes it.
 */
export interface ImportSession {
  readonly runner: SqlRunner;
  /**
   * Called before about `count` interactions are written, and `between` the steps of the work it
   * does afterwards in `afterInteractions` (so a signal can stop the import there).
   */
  beforeInteractions(count: number): Promise<void>;
  afterInteractions(between: () => Promise<void>): Promise<void>;
  /** Commits (`commit` true) or rolls back, then closes the connection. */
  end(commit: boolean): Promise<void>;
}

/** Opens an import session on `db` (its transaction is begun). */
export function openImportSession(db: ResolvedDatabase): Promise<ImportSession> {
  return db.provider === 'sqlite' ? openSqliteImport(db.file) : openPostgresImport(db);
}

/**
 * Runs `fn` in an import session: committed when it resolves, rolled back when it throws (nothing
 * written), the connection closed either way.
 */
export async function inImportSession<T>(
  db: ResolvedDatabase,
  fn: (session: ImportSession) => Promise<T>,
): Promise<T> {
  const session = await openImportSession(db);
  let result: T;
  try {
    result = await fn(session);
  } catch (err) {
    await session.end(false).catch(() => undefined); // the error that stopped the import matters
    throw err;
  }
  await session.end(true);
  return result;
}
