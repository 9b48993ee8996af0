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
      throw new Error(`database: "${redactCredentials(raw)}" is not a valid PostgreSQL URL`);
    }
    if (!url.hostname) throw new Error(`database: PostgreSQL URL "${redactCredentials(raw)}" has no host`);
    return { provider: 'postgresql', url: raw };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    throw new Error(
      `database: unsupported scheme in "${redactCredentials(raw)}" (use a file path or postgresql://)`,
    );
  }
  return { provider: 'sqlite', file: raw.replace(/^file:/, '') };
}

const REDACTED = '***';
// scheme://user:password@ — the password runs to the last "@" of the token (an unencoded "@" in
// a password is common), never across whitespace or quotes (JSON log lines).
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@"'<>]*):[^\s"'<>]*@/gi;
// ?password=… in a URL query and password=… in a libpq keyword/value connection string.
const PASSWORD_PARAM = /\b((?:ssl)?password=)[^\s&"'<>]+/gi;

/**
 * Replaces the credentials in any text that may hold a database URL (messages, log lines,
 * error details) with `***`, keeping the user, host and database so the text still says where.
 * Every message or log line of the apps that can carry a `--database` value goes through it.
 */
export function redactCredentials(text: string): string {
  return text
    .replace(URL_PASSWORD, (_m, prefix: string) => `${prefix}:${REDACTED}@`)
    .replace(PASSWORD_PARAM, (_m, key: string) => `${key}${REDACTED}`);
}
