import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { loadMigrations, type MigrationFile } from './migrations';
import { checkSqliteFile, connectionFailure } from './availability';
import { resolveDatabase, type ResolvedDatabase } from './location';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** What `migrate` did. */
export interface MigrateResult {
  provider: 'sqlite' | 'postgresql';
  applied: string[];
  alreadyApplied: string[];
}

// Prisma's own advisory lock key, so our migrator and `prisma migrate deploy` exclude each other.
const PG_ADVISORY_LOCK = 72707369;

const SQLITE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

const PG_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

/** Decides which migrations to apply, refusing a database whose history disagrees with the files. */
function plan(files: MigrationFile[], applied: AppliedRow[]): { todo: MigrationFile[]; done: string[] } {
  const done = new Map<string, AppliedRow>();
  for (const row of applied) {
    if (row.rolled_back_at !== null) continue;
    if (row.finished_at === null) {
      throw new Error(
        `migrate: migration ${row.migration_name} started but did not finish; fix the database, then mark it rolled back`,
      );
    }
    done.set(row.migration_name, row);
  }
  for (const [name, row] of done) {
    const file = files.find((f) => f.name === name);
    if (!file) throw new Error(`migrate: database has migration ${name}, which is not in prisma/migrations`);
    if (file.checksum !== row.checksum) {
      throw new Error(`migrate: migration ${name} was modified after it was applied (checksum mismatch)`);
    }
  }
  return { todo: files.filter((f) => !done.has(f.name)), done: [...done.keys()] };
}

/**
 * Runs `fn`, retrying while SQLite answers SQLITE_BUSY, for up to `timeoutMs`. Switching a fresh
 * file to WAL needs an exclusive lock and can fail with "database is locked" without waiting for
 * the busy timeout when several processes open the file at once (seen in CI: three migrators).
 */
function retryWhileBusy<T>(fn: () => T, timeoutMs: number): T {
  const deadline = Date.now() + timeoutMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    try {
      return fn();
    } catch (err) {
      const busy = (err as { code?: string }).code?.startsWith('SQLITE_BUSY');
      if (!busy || Date.now() + wait > deadline) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, wait); // synchronous sleep
    }
  }
}

function migrateSqlite(file: string, files: MigrationFile[]): MigrateResult {
  checkSqliteFile({ provider: 'sqlite', file }, true);
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file, { timeout: 30_000 });
  try {
    retryWhileBusy(() => db.pragma('journal_mode = WAL'), 30_000);
    // BEGIN IMMEDIATE takes the write lock up front: a second process waits (busy timeout), then
    // sees the migrations the first one recorded.
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(SQLITE_TABLE);
      const applied = db
        .prepare('SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"')
        .all() as AppliedRow[];
      const { todo, done } = plan(files, applied);
      const now = () => new Date().toISOString().replace('Z', '+00:00');
      for (const m of todo) {
        const id = randomUUID();
        db.prepare(
          'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, 0)',
        ).run(id, m.checksum, m.name, now());
        db.exec(m.sql);
        db.prepare(
          'UPDATE "_prisma_migrations" SET finished_at = ?, applied_steps_count = 1 WHERE id = ?',
        ).run(now(), id);
      }
      db.exec('COMMIT');
      return { provider: 'sqlite', applied: todo.map((m) => m.name), alreadyApplied: done };
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  } finally {
    db.close();
  }
}

async function migratePostgres(db: ResolvedDatabase & { provider: 'postgresql' }, files: MigrationFile[]) {
  const { connectionString, schema } = db;
  const client = new Client({ connectionString, connectionTimeoutMillis: db.connectTimeoutMs });
  await client.connect().catch((err: unknown) => {
    throw connectionFailure(db, err) ?? err;
  });
  try {
    // Lock first: concurrent CREATE SCHEMA IF NOT EXISTS can still collide in PostgreSQL.
    await client.query('SELECT pg_advisory_lock($1)', [PG_ADVISORY_LOCK]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      await client.query(`SET search_path TO "${schema}"`);
      await client.query(PG_TABLE);
      const { rows } = await client.query<AppliedRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"',
      );
      const { todo, done } = plan(files, rows);
      for (const m of todo) {
        await client.query('BEGIN');
        try {
          const id = randomUUID();
          await client.query(
            'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
            [id, m.checksum, m.name],
          );
          await client.query(m.sql);
          await client.query(
            'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
            [id],
          );
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw new Error(`migrate: ${m.name} failed: ${(err as Error).message}`, { cause: err });
        }
      }
      return { provider: 'postgresql' as const, applied: todo.map((m) => m.name), alreadyApplied: done };
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [PG_ADVISORY_LOCK]);
    }
  } finally {
    await client.end();
  }
}

/**
 * Applies the pending versioned migrations (prisma/migrations/<provider>) and records them in
 * `_prisma_migrations` exactly like `prisma migrate deploy`. Idempotent and safe when several
 * processes run it at once (SQLite `BEGIN IMMEDIATE`; PostgreSQL advisory lock).
 */
export async function migrate(database?: string | ResolvedDatabase): Promise<MigrateResult> {
  const db = typeof database === 'object' ? database : resolveDatabase(database);
  const files = loadMigrations(db.provider);
  return db.provider === 'sqlite' ? migrateSqlite(db.file, files) : migratePostgres(db, files);
}
