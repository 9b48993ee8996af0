/** @warmstart/feature-store: Prisma feature store over SQLite (default) and PostgreSQL. */
export * from './database-url';
