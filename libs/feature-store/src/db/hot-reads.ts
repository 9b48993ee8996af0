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

/** A user (or item) row joined with one of its current feature rows (null columns: no features). */
export interface EntityFeatureRow {
  id: string;
  createdAt: unknown;
  updatedAt: unknown;
  field: string | null;
  kind: string | null;
  position: number | null;
  text: string | null;
  number: number | null;
}

/** An item row with one of its current feature rows. */
export interface ItemFeatureRow extends EntityFeatureRow {
  availableAt: unknown;
  status: string;
}

/** One interaction of a user's history, newest first (see OnlineReads.recentInteractions). */
export interface RecentRow {
  itemId: string;
  value: number;
  eventTime: unknown;
}

/**
 * The serving hot path's reads, on the driver itself instead of through Prisma: Prisma compiles
 * and maps even a raw statement (12.6x the CPU of a prepared better-sqlite3 statement, 1.9x that
 * of pg, `npm run bench -- feature-store`; a saturated server spent 15% of its main thread there),
 * and compiles every new shape of a query (an `IN` list of another length) on first use, which a
 * stored user's first request paid. Every statement here has one shape for any number of ids (a
 * JSON array on SQLite, a text array on PostgreSQL), prepared once. Opened lazily on the first
 * read: a read-only SQLite connection, or a small pg pool with named (server-prepared) statements.
 */
export interface HotReads {
  userWatermark(userId: string): Promise<UserWatermarkRow | undefined>;
  /** Users with their current features: one row per feature (one row with null features when none). */
  users(ids: readonly string[]): Promise<EntityFeatureRow[]>;
  /** Items (any status) with their current features, as `users`. */
  items(ids: readonly string[]): Promise<ItemFeatureRow[]>;
  /** The user's `limit` most recent interactions (event time, then sequence), newest first. */
  recent(userId: string, limit: number): Promise<RecentRow[]>;
  close(): Promise<void>;
}

/** The newest interaction of a user: one probe of the [userId, seq] index. */
const newest = (p: string) => `FROM "interactions" WHERE "userId" = ${p} ORDER BY "seq" DESC LIMIT 1`;
/** The watermark statement with `p` as the user id's placeholder (used four times). */
export const userWatermarkSql = (p: string): string =>
  `SELECT (SELECT "seq" ${newest(p)}) AS "sequence", (SELECT "ingestedAt" ${newest(p)}) AS "time", ` +
  `(SELECT COUNT(*) FROM "interactions" WHERE "userId" = ${p}) AS "count", ` +
  `(SELECT "updatedAt" FROM "users" WHERE "id" = ${p}) AS "featuresUpdatedAt"`;

/** `table`'s rows whose id (`e."id"`) meets `idIn` (the id list's condition), with their current features. */
const withFeatures = (table: 'users' | 'items', columns: string, idIn: string): string => {
  const features = table === 'users' ? 'user_features' : 'item_features';
  const owner = table === 'users' ? 'userId' : 'itemId';
  return (
    `SELECT e."id", e."createdAt", e."updatedAt"${columns}, f."field", f."kind", f."position", f."text", f."number" ` +
    `FROM "${table}" e LEFT JOIN "${features}" f ON f."${owner}" = e."id" AND f."validTo" IS NULL ` +
    `WHERE ${idIn}`
  );
};
const ITEM_COLUMNS = ', e."availableAt", e."status"';
/** The [userId, eventTime] index, newest first, ties newest sequence first (as Prisma's read). */
const recentSql = (user: string, limit: string): string =>
  `SELECT "itemId", "value", "eventTime" FROM "interactions" WHERE "userId" = ${user} ` +
  `ORDER BY "eventTime" DESC, "seq" DESC LIMIT ${limit}`;

export function openHotReads(db: ResolvedDatabase): HotReads {
  return db.provider === 'sqlite' ? sqliteHotReads(db.file) : postgresHotReads(db);
}

function sqliteHotReads(file: string): HotReads {
  const ids = 'e."id" IN (SELECT value FROM json_each(@ids))';
  let open: ReturnType<typeof prepareSqlite> | undefined;
  function prepareSqlite() {
    // Read-only: this connection never takes the write lock (WAL readers see every commit).
    const conn = new Database(file, { readonly: true, fileMustExist: true, timeout: 30_000 });
    return {
      conn,
      watermark: conn.prepare<{ u: string }, UserWatermarkRow>(userWatermarkSql('@u')),
      users: conn.prepare<{ ids: string }, EntityFeatureRow>(withFeatures('users', '', ids)),
      items: conn.prepare<{ ids: string }, ItemFeatureRow>(withFeatures('items', ITEM_COLUMNS, ids)),
      recent: conn.prepare<{ u: string; n: number }, RecentRow>(recentSql('@u', '@n')),
    };
  }
  const statements = () => (open ??= prepareSqlite());
  return {
    async userWatermark(userId) {
      return statements().watermark.get({ u: userId });
    },
    async users(list) {
      return statements().users.all({ ids: JSON.stringify(list) });
    },
    async items(list) {
      return statements().items.all({ ids: JSON.stringify(list) });
    },
    async recent(userId, limit) {
      return statements().recent.all({ u: userId, n: limit });
    },
    async close() {
      open?.conn.close();
      open = undefined;
    },
  };
}

function postgresHotReads(db: Extract<ResolvedDatabase, { provider: 'postgresql' }>): HotReads {
  let pool: Pool | undefined;
  const ids = 'e."id" = ANY($1::text[])';
  async function rows<R extends object>(name: string, text: string, values: unknown[]): Promise<R[]> {
    pool ??= new Pool({
      connectionString: db.connectionString,
      options: `-c search_path="${db.schema}"`,
      connectionTimeoutMillis: db.connectTimeoutMs,
      types: utcTimestamps,
      max: 2,
    });
    return (await pool.query<R>({ name: `warmstart_${name}`, text, values })).rows;
  }
  const watermarkText = userWatermarkSql('$1');
  const usersText = withFeatures('users', '', ids);
  const itemsText = withFeatures('items', ITEM_COLUMNS, ids);
  const recentText = recentSql('$1', '$2');
  return {
    async userWatermark(userId) {
      return (await rows<UserWatermarkRow>('user_watermark', watermarkText, [userId]))[0];
    },
    users: (list) => rows<EntityFeatureRow>('users', usersText, [list]),
    items: (list) => rows<ItemFeatureRow>('items', itemsText, [list]),
    recent: (userId, limit) => rows<RecentRow>('recent', recentText, [userId, limit]),
    async close() {
      await pool?.end();
      pool = undefined;
    },
  };
}
