import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** One versioned migration as `prisma migrate deploy` sees it. */
export interface MigrationFile {
  /** Directory name, `<timestamp>_<name>`. */
  name: string;
  sql: string;
  /** sha256 hex of migration.sql, the checksum Prisma records in `_prisma_migrations`. */
  checksum: string;
}

/** The package's prisma/migrations directory (from src/ in tests, from dist/ when built). */
export function migrationsRoot(): string {
  const candidates = [join(__dirname, '../../prisma/migrations'), join(__dirname, '../prisma/migrations')];
  const found = candidates.find((dir) => existsSync(dir));
  if (!found)
    throw new Error(`feature-store: migrations directory not found (looked in ${candidates.join(', ')})`);
  return found;
}

/** Lists the migrations of one provider in order. */
export function loadMigrations(provider: 'sqlite' | 'postgresql', root = migrationsRoot()): MigrationFile[] {
  const dir = join(root, provider);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^\d{14}_\w+$/.test(e.name))
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const sql = readFileSync(join(dir, name, 'migration.sql'), 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}
