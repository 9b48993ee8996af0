import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaPg } from '@prisma/adapter-pg';
import { Prisma, PrismaClient as SqliteClient } from '../generated/sqlite/client';
import { PrismaClient as PostgresClient } from '../generated/postgresql/client';
import type { ResolvedDatabase } from './location';

/**
 * The Prisma client type the store codes against. Both generated clients come from one source
 * schema, so their model APIs are identical; the PostgreSQL one is used through this type.
 */
export type Db = SqliteClient;

/** Client options beyond the adapter. */
export interface ClientOptions {
  /** Emit Prisma `query` events (`client.$on('query', ...)`), e.g. to count statements in tests. */
  logQueries?: boolean;
}

/** Opens a Prisma client over the better-sqlite3 or pg driver adapter. */
export function createClient(db: ResolvedDatabase, options: ClientOptions = {}): Db {
  const log = options.logQueries ? { log: [{ emit: 'event' as const, level: 'query' as const }] } : {};
  if (db.provider === 'sqlite') {
    const adapter = new PrismaBetterSqlite3({ url: db.file, timeout: 30_000 });
    return new SqliteClient({ adapter, ...log }) as unknown as Db;
  }
  // search_path makes raw SQL see the same schema as the generated queries.
  const adapter = new PrismaPg(
    {
      connectionString: db.connectionString,
      options: `-c search_path="${db.schema}"`,
      max: 8,
      connectionTimeoutMillis: db.connectTimeoutMs,
    },
    { schema: db.schema },
  );
  return new PostgresClient({ adapter, ...log }) as unknown as Db;
}

/** The client inside an interactive transaction. */
export type Tx = Prisma.TransactionClient;
