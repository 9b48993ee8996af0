import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseUnavailableError, openFeatureStore } from '@warmstart/feature-store';
import { runCli, syntheticImportArgs } from './support/run-cli';
import { MAIN, haveDist } from './support/trainer-process';

if (!haveDist)
  console.warn(`${MAIN} not found: the --database process checks are skipped (build the trainer first)`);

const PG = process.env['WARMSTART_TEST_PG'] ?? 'postgresql://postgres@127.0.0.1:5432/test';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'trainer-db-flag-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** `node dist/main.js <args>`: exit code, stdout, stderr. */
function trainer(args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, WARMSTART_BACKEND: 'cpu', WARMSTART_LOG_FORMAT: 'json' },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('--database that names no database', () => {
  const readers: string[][] = [
    ['train'],
    ['evaluate', '--out', 'r'],
    ['schedule', '--cron', '0 3 * * *'],
    ['models', 'list'],
    ['models', 'rollback'],
    ['runs', 'list'],
  ];

  it.each(readers)('%s fails on a missing SQLite file, naming it, and creates nothing', async (...cmd) => {
    const database = join(dir, 'tpyo', 'warmstart.db');
    const err = await runCli([...cmd, '--database', database, '--artifacts', join(dir, 'm')]).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toContain(`${database} does not exist`);
    expect(existsSync(join(dir, 'tpyo'))).toBe(false);
  });

  it('migrate and import create a new SQLite database at the path given', async () => {
    const migrated = join(dir, 'a', 'w.db');
    await runCli(['migrate', '--database', migrated]);
    expect(existsSync(migrated)).toBe(true);
    const imported = join(dir, 'b', 'w.db');
    expect(await runCli(syntheticImportArgs(imported))).toContain(`imported synthetic into ${imported}:`);
    await expect(runCli(['runs', 'list', '--database', imported])).resolves.toBeDefined();
  });

  it('evaluate --movielens reads no database, so a missing file is no error', async () => {
    const database = join(dir, 'unused.db');
    const args = [
      'evaluate',
      '--out',
      join(dir, 'r'),
      '--movielens',
      join(dir, 'no-ml'),
      '--database',
      database,
    ];
    const err = (await runCli(args).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(join(dir, 'no-ml')); // it got as far as reading the dataset directory
    expect(err).not.toBeInstanceOf(DatabaseUnavailableError);
    expect(existsSync(database)).toBe(false);
  });

  it('names a directory given as the database', async () => {
    mkdirSync(join(dir, 'data'));
    await expect(runCli(['models', 'list', '--database', join(dir, 'data')])).rejects.toThrow(
      `${join(dir, 'data')} is a directory, not a SQLite database file`,
    );
    await expect(runCli(syntheticImportArgs(join(dir, 'data')))).rejects.toThrow(
      `${join(dir, 'data')} is a directory`,
    );
  });

  (haveDist ? describe : describe.skip)('as a process: one line naming --database, exit 1', () => {
    it('a missing file', () => {
      const database = join(dir, 'nope.db');
      const r = trainer(['train', '--database', database]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `error: --database: ${database} does not exist (a new SQLite database is created only by migrate or an import)\n`,
      );
    });

    it('a directory', () => {
      const r = trainer(['models', 'list', '--database', dir]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: --database: ${dir} is a directory, not a SQLite database file\n`);
    });

    it('an unreachable PostgreSQL, without stack trace or password', async () => {
      const port = await closedPort();
      const r = trainer([
        'import',
        'synthetic',
        '--database',
        `postgresql://app:s3cretpw@127.0.0.1:${port}/ws`,
      ]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `error: --database: cannot connect to PostgreSQL at 127.0.0.1:${port}/ws: connection refused (is the server running and listening there?)\n`,
      );
    });
  });
});

describe('credentials in output', () => {
  const url = new URL(PG);
  url.password = 's3cretpw';
  url.searchParams.set('schema', `trainer_redact_${process.pid}`);
  let pgUp = false;
  beforeAll(async () => {
    try {
      const probe = await openFeatureStore(`${PG}${PG.includes('?') ? '&' : '?'}connect_timeout=2`, {
        migrate: false,
      });
      await probe.close();
      pgUp = true;
    } catch {
      console.warn(`PostgreSQL not answering at ${PG}: the import redaction check is SKIPPED`);
    }
  });
  afterAll(async () => {
    if (!pgUp) return;
    const store = await openFeatureStore(PG, { migrate: false });
    await store.prisma.$executeRawUnsafe(`DROP SCHEMA IF EXISTS "trainer_redact_${process.pid}" CASCADE`);
    await store.close();
  });

  it('import prints the PostgreSQL URL with its password redacted', async () => {
    if (!pgUp) return;
    const out = await runCli(syntheticImportArgs(url.toString()));
    expect(out).not.toContain('s3cretpw');
    expect(out).toContain(`imported synthetic into postgresql://postgres:***@${url.host}/`);
  });
});
