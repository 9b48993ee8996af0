import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger } from '../src/observability/logger';
import { MAIN, haveDist } from './support/server-process';

if (!haveDist)
  console.warn(`${MAIN} not found: the --database start-up checks are skipped (build the server first)`);

/** Starts `node dist/main.js` and returns how it ended (it should not get as far as listening). */
function serve(database: string) {
  const r = spawnSync(
    process.execPath,
    [MAIN, '--host', '127.0.0.1', '--port', '0', '--metrics', 'false', '--database', database],
    { encoding: 'utf8', timeout: 60_000, env: { ...process.env, WARMSTART_BACKEND: 'cpu' } },
  );
  const startupLines = r.stdout.split('\n').filter((l) => l.includes('"msg"'));
  return { code: r.status, stderr: r.stderr, listening: startupLines.some((l) => l.includes('listening')) };
}

(haveDist ? describe : describe.skip)('warmstart-serve --database that names no database', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'serve-db-flag-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing SQLite file: one line naming the path, exit 1, nothing created', () => {
    const database = path.join(dir, 'tpyo', 'warmstart.db');
    const r = serve(database);
    expect(r).toEqual({
      code: 1,
      listening: false,
      stderr: `warmstart-serve: --database: ${database} does not exist (a new SQLite database is created only by migrate or an import)\n`,
    });
    expect(existsSync(path.join(dir, 'tpyo'))).toBe(false);
  });

  it('a directory: one line naming it', () => {
    expect(serve(dir)).toEqual({
      code: 1,
      listening: false,
      stderr: `warmstart-serve: --database: ${dir} is a directory, not a SQLite database file\n`,
    });
  });

  it('an unreachable PostgreSQL: one line naming host and port, no stack trace, no password', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise((resolve) => probe.close(resolve));
    expect(serve(`postgresql://app:s3cretpw@127.0.0.1:${port}/ws`)).toEqual({
      code: 1,
      listening: false,
      stderr: `warmstart-serve: --database: cannot connect to PostgreSQL at 127.0.0.1:${port}/ws: connection refused (is the server running and listening there?)\n`,
    });
  });
});

describe('server log lines', () => {
  it('never carry a database password, wherever it appears', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger('info', sink);
    log.error(
      {
        err: new Error('connect ECONNREFUSED postgresql://app:s3cretpw@db:5432/ws'),
        database: 'postgres://a:b@h/d',
      },
      'registry poll failed',
    );
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0]) as { err: { message: string; stack: string }; database: string };
    expect(lines[0]).not.toContain('s3cretpw');
    expect(entry.err.message).toBe('connect ECONNREFUSED postgresql://app:***@db:5432/ws');
    expect(entry.err.stack).toContain('postgresql://app:***@db:5432/ws');
    expect(entry.database).toBe('postgres://a:***@h/d');
  });
});
