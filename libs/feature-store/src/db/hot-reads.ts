import Database from 'better-sqlite3';
import { Pool } from 'pg';
import type { ResolvedDatabase } from './location';
import { utcTimestamps } from './pg-types';

/** A user's watermark columns as the database returns them (see OnlineReads.userWatermark). */
export interface UserWatermarkRow {
  sequence: unknown;
  time: unknown;
  count: unknown;
  featuresUpdatedAt: unknown;
}

/**
 * The serving hot path's one read per request, on the driver itself instead of through Prisma:
 * Prisma compiles and maps even a raw statement: 12.6x the CPU of a prepared better-sqlite3
 * statement, 1.9x that of pg (`npm run bench -- feature-store`), and a saturated server spent 15%
 * of its main thread there. Opened lazily on the first read: a read-only SQLite connection with the
 * statement prepared once, or a small pg pool with a named (server-prepared) statement.
 */
export interface HotReads {
  userWatermark(userId: string): Promise<UserWatermarkRow | undefined>;
  close(): Promise<void>;
}

/** The newest interaction of a user: one probe of the [userId, seq] index. */
const newest = (p: string) => `FROM "interactions" WHERE "userId" = ${p} ORDER BY "seq" DESC LIMIT 1`;
/** The watermark statement with `p` as the user id's placeholder (used four times). */
export const userWatermarkSql = (p: string): string =>
  `SELECT (SELECT "seq" ${newest(p)}) AS "sequence", (SELECT "ingestedAt" ${newest(p)}) AS "time", ` +
  `(SELECT COUNT(*) FROM "interactions" WHERE "userId" = ${p}) AS "count", ` +
  `(SELECT "updatedAt" FROM "users" WHERE "id" = ${p}) AS "featuresUpdatedAt"`;

export function openHotReads(db: ResolvedDatabase): HotReads {
  return db.provider === 'sqlite' ? sqliteHotReads(db.file) : postgresHotReads(db);
}

function sqliteHotReads(file: string): HotReads {
  let conn: Database.Database | undefined;
  let statement: Database.Statement<{ u: string }, UserWatermarkRow> | undefined;
  return {
    async userWatermark(userId) {
      if (!statement) {
        // Read-only: this connection never takes the write lock (WAL readers see every commit).
        conn = new Database(file, { readonly: true, fileMustExist: true, timeout: 30_000 });
        statement = conn.prepare<{ u: string }, UserWatermarkRow>(userWatermarkSql('@u'));
      }
      return statement.get({ u: userId });
    },
    async close() {
      conn?.close();
      conn = undefined;
      statement = undefined;
    },
  };
}

function postgresHotReads(db: Extract<ResolvedDatabase, { provider: 'postgresql' }>): HotReads {
  let pool: Pool | undefined;
  const text = userWatermarkSql('$1');
  return {
    async userWatermark(userId) {
      pool ??= new Pool({
        connectionString: db.connectionString,
        options: `-c search_path="${db.schema}"`,
        connectionTimeoutMillis: db.connectTimeoutMs,
        types: utcTimestamps,
        max: 2,
      });
      const res = await pool.query<UserWatermarkRow>({
        name: 'warmstart_user_watermark',
        text,
        values: [userId],
      });
      return res.rows[0];
    },
    async close() {
      await pool?.end();
      pool = undefined;
    },
  };
}
