/** Which backend a `--database` value selects. */
export type DatabaseLocation = { provider: 'sqlite'; file: string } | { provider: 'postgresql'; url: string };

/** Default embedded database file, shared by the trainer and the server. */
export const DEFAULT_SQLITE_FILE = './data/warmstart.db';

/**
 * Parses a `--database` / `WARMSTART_DATABASE` value: a `postgresql://` (or `postgres://`) URL
 * selects PostgreSQL; anything else is a SQLite file path (a `file:` prefix is accepted).
 */
export function parseDatabaseLocation(value: string | undefined): DatabaseLocation {
  const raw = (value ?? '').trim();
  if (raw === '') return { provider: 'sqlite', file: DEFAULT_SQLITE_FILE };
  if (/^postgres(ql)?:\/\//i.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new Error(`database: "${raw}" is not a valid PostgreSQL URL`);
    }
    if (!url.hostname) throw new Error(`database: PostgreSQL URL "${raw}" has no host`);
    return { provider: 'postgresql', url: raw };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    throw new Error(`database: unsupported scheme in "${raw}" (use a file path or postgresql://)`);
  }
  return { provider: 'sqlite', file: raw.replace(/^file:/, '') };
}
