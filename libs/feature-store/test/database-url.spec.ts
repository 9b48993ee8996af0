import { DEFAULT_SQLITE_FILE, parseDatabaseLocation } from '../src';

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
