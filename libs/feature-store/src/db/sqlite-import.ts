import Database from 'better-sqlite3';
import { LRUCache } from 'lru-cache';
import type { ImportSession } from './import-session';
import { Dialect, type SqlValue } from './sql';

/** Imports of at least this many interactions may defer the secondary indexes (below, it never pays). */
const MIN_DEFERRED_ROWS = 10_000;

/**
 * An import session on SQLite: its own better-sqlite3 connection to the store's file, in one
 * `BEGIN IMMEDIATE` transaction (the store's write lock from the start; other connections keep
 * reading the last committed state in WAL mode), with prepared statements reused across batches.
 * better-sqlite3 is synchronous, so the importer yields between batches; the transaction spans
 * them (explicit BEGIN/COMMIT, not `db.transaction()`, which cannot span an await).
 *
 * An import of at least MIN_DEFERRED_ROWS interactions into a table holding fewer than it brings
 * drops the non-unique indexes of `interactions` and builds them again, with the SQL they were
 * created with, before commit: building an index by sorting is several times faster than
 * inserting into it row by row (1M interactions into an empty table in a stand-alone script:
 * about 24 s with the indexes in place, 7 s rebuilt; docs/benchmarks.md). The unique event id index stays, so duplicates are skipped as always. It is all one
 * transaction: a rollback restores the indexes with the rows.
 */
export async function openSqliteImport(file: string): Promise<ImportSession> {
  const db = new Database(file, { fileMustExist: true, timeout: 30_000 });
  const statements = new LRUCache<string, Database.Statement>({ max: 64 });
  const prepare = (sql: string) => {
    let stmt = statements.get(sql);
    if (!stmt) statements.set(sql, (stmt = db.prepare(sql)));
    return stmt;
  };
  try {
    // The importer checks every reference itself in this transaction (items must exist, users
    // are created first, features follow their entity), so SQLite's per-row foreign key lookups
    // only repeat that work: off on this connection (it cannot change inside a transaction).
    db.pragma('foreign_keys = OFF');
    db.exec('BEGIN IMMEDIATE');
  } catch (err) {
    db.close();
    throw err;
  }
  let deferred: { name: string; sql: string }[] = [];
  return {
    runner: {
      dialect: new Dialect('sqlite'),
      query: async <T>(sql: string, params: readonly SqlValue[] = []) => prepare(sql).all(params) as T[],
      execute: async (sql: string, params: readonly SqlValue[] = []) => prepare(sql).run(params).changes,
    },
    async beforeInteractions(count) {
      if (count < MIN_DEFERRED_ROWS) return;
      // Counting stops at `count`: a large table costs no more than the import.
      const { n } = db
        .prepare('SELECT count(*) AS n FROM (SELECT 1 FROM "interactions" LIMIT ?)')
        .get(count) as { n: number };
      if (n >= count) return;
      const unique = new Set(
        (db.pragma('index_list("interactions")') as { name: string; unique: number }[])
          .filter((i) => i.unique)
          .map((i) => i.name),
      );
      deferred = (
        db
          .prepare(
            `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'interactions' AND sql IS NOT NULL`,
          )
          .all() as { name: string; sql: string }[]
      ).filter((i) => !unique.has(i.name));
      for (const i of deferred) db.exec(`DROP INDEX "${i.name}"`);
    },
    async afterInteractions(between) {
      for (const i of deferred) {
        await between();
        db.exec(i.sql);
      }
      deferred = [];
    },
    async end(commit) {
      try {
        if (db.inTransaction) db.exec(commit ? 'COMMIT' : 'ROLLBACK');
      } finally {
        statements.clear();
        db.close();
      }
    },
  };
}
