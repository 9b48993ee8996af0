import type { Db, Tx } from './client';
import type { Dialect, SqlValue } from './sql';
import type { InteractionInput } from '../store/inputs';

/**
 * Raw SQL on one connection or transaction: Prisma's (the write API), or an import session's own
 * better-sqlite3 or pg connection (`import-session.ts`). The store's writes are written against
 * this, so the write API and the importers share them.
 */
export interface SqlRunner {
  readonly dialect: Dialect;
  /** Rows of a SELECT, as the driver returns them (see `toDate` / `toNumber` in sql.ts). */
  query<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** Runs a statement; returns the rows it changed. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * A bulk path for new interaction rows (PostgreSQL COPY), with `INSERT ... ON CONFLICT ("eventId")
   * DO NOTHING` semantics in row order; returns how many were stored. Without it, multi-row INSERTs.
   */
  insertInteractions?(rows: readonly InteractionInput[], now: Date): Promise<number>;
}

/** Runs raw SQL through a Prisma client or interactive transaction. */
export function prismaRunner(db: Db | Tx, dialect: Dialect): SqlRunner {
  return {
    dialect,
    query: <T>(sql: string, params: readonly SqlValue[] = []) => db.$queryRawUnsafe<T[]>(sql, ...params),
    execute: (sql, params = []) => db.$executeRawUnsafe(sql, ...params),
  };
}
