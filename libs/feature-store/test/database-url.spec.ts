import { DEFAULT_SQLITE_FILE, parseDatabaseLocation, redactCredentials } from '../src';

describe('parseDatabaseLocation', () => {
  it('defaults to the embedded SQLite file', () => {
    expect(parseDatabaseLocation(undefined)).toEqual({ provider: 'sqlite', file: DEFAULT_SQLITE_FILE });
    expect(parseDatabaseLocation('  ')).toEqual({ provider: 'sqlite', file: DEFAULT_SQLITE_FILE });
  });

  it('selects PostgreSQL for postgres URLs and SQLite for paths', () => {
    expect(parseDatabaseLocation('postgresql://127.0.0.1:5432/test')).toEqual({
      provider: 'postgresql',
      url: 'postgresql://127.0.0.1:5432/test',
    });
    expect(parseDatabaseLocation('file:/tmp/a.db')).toEqual({ provider: 'sqlite', file: '/tmp/a.db' });
  });

  it('rejects other schemes with a message naming the field', () => {
    expect(() => parseDatabaseLocation('mysql://x/y')).toThrow(/^database: unsupported scheme/);
  });
});

describe('redactCredentials', () => {
  it('hides the password of a PostgreSQL URL and keeps where it points', () => {
    expect(
      redactCredentials('imported csv into postgresql://postgres:s3cretpw@db.local:5432/ws?schema=a'),
    ).toBe('imported csv into postgresql://postgres:***@db.local:5432/ws?schema=a');
    expect(redactCredentials('postgres://u:p%40ss@h/db')).toBe('postgres://u:***@h/db');
  });

  it('hides a password holding an unencoded "@" and every URL of a message', () => {
    const text = 'from postgresql://a:x@y@h1/db to postgresql://b:z@h2/db';
    expect(redactCredentials(text)).toBe('from postgresql://a:***@h1/db to postgresql://b:***@h2/db');
  });

  it('stays inside one JSON string of a log line', () => {
    const line = JSON.stringify({ database: 'postgresql://u:pw@h/db', msg: 'mail me at x@y.z' });
    const out = redactCredentials(line);
    expect(out).not.toContain('pw@');
    expect(out).toContain('"postgresql://u:***@h/db"');
    expect(out).toContain('x@y.z');
  });

  it('hides password parameters of URLs and keyword/value connection strings', () => {
    expect(redactCredentials('postgresql://h/db?user=u&password=pw&sslmode=require')).toBe(
      'postgresql://h/db?user=u&password=***&sslmode=require',
    );
    expect(redactCredentials('host=h user=u password=pw dbname=d')).toBe(
      'host=h user=u password=*** dbname=d',
    );
  });

  it('leaves text without credentials alone', () => {
    for (const text of [
      './data/warmstart.db',
      'postgresql://u@h/db',
      'http://example.org/a:b',
      'ratio 3:2@x',
    ])
      expect(redactCredentials(text)).toBe(text);
  });

  it('keeps parse errors of a --database value free of its password', () => {
    expect(() => parseDatabaseLocation('postgresql://u:pw@')).toThrow(/postgresql:\/\/u:\*\*\*@/);
    expect(() => parseDatabaseLocation('mysql://u:pw@h/d')).toThrow(/mysql:\/\/u:\*\*\*@h\/d/);
  });
});
