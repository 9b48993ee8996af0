import { migrate, resolveDatabase, type MigrateResult } from '@warmstart/feature-store';
import type { CommandContext } from './context';

export interface MigrateFlags {
  database: string;
}

/**
 * `migrate`: applies the feature store's pending versioned migrations (the same ones every other
 * command applies when it opens the store) and reports what it applied. Idempotent: a second run
 * reports that there is nothing to apply.
 */
export async function migrateCommand(flags: MigrateFlags, ctx: CommandContext): Promise<MigrateResult> {
  const db = resolveDatabase(flags.database);
  // The file for SQLite; for PostgreSQL only the schema (the URL may carry a password).
  const where = db.provider === 'sqlite' ? db.file : `postgresql schema "${db.schema}"`;
  const result = await migrate(db);
  ctx.logger.info({ provider: result.provider, applied: result.applied }, 'migrations checked');
  if (result.applied.length === 0) {
    ctx.out(
      `nothing to apply: ${where} is up to date (${result.alreadyApplied.length} migration(s) already applied)`,
    );
  } else {
    ctx.out(`applied ${result.applied.length} migration(s) to ${where}:`);
    for (const name of result.applied) ctx.out(`  ${name}`);
  }
  return result;
}
