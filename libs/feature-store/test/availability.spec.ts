import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseUnavailableError, migrate, openFeatureStore, resolveDatabase } from '../src';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'fs-avail-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('SQLite paths', () => {
  it('refuses a missing file when creating is not allowed, naming it and creating nothing', async () => {
    const file = join(dir, 'typo', 'warmstart.db');
    const err = await openFeatureStore(file, { create: false }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect((err as Error).message).toBe(
      `database: ${file} does not exist (a new SQLite database is created only by migrate or an import)`,
    );
    expect(existsSync(join(dir, 'typo'))).toBe(false);
  });

  it('opens an existing file with create: false, and creates a new one by default', async () => {
    const file = join(dir, 'new', 'store.db');
    const created = await openFeatureStore(file);
    await created.close();
    expect(existsSync(file)).toBe(true);
    const reopened = await openFeatureStore(file, { create: false });
    expect(await reopened.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
    await reopened.close();
  });

  it('names a directory given as the database, whatever the create option', async () => {
    const folder = join(dir, 'data');
    mkdirSync(folder);
    for (const create of [true, false]) {
      await expect(openFeatureStore(folder, { create })).rejects.toThrow(
        `database: ${folder} is a directory, not a SQLite database file`,
      );
    }
    await expect(migrate(folder)).rejects.toThrow(`${folder} is a directory`);
  });

  it('names a path whose parent is a file', async () => {
    const file = join(dir, 'plain');
    writeFileSync(file, 'x');
    await expect(openFeatureStore(join(file, 'store.db'))).rejects.toThrow(
      `database: ${join(file, 'store.db')}: a parent of this path is a file, not a directory`,
    );
  });
});

describe('PostgreSQL that cannot be reached', () => {
  it('gives one line naming host, port and reason, never the password', async () => {
    const port = await closedPort();
    const err = (await openFeatureStore(`postgresql://app:s3cretpw@127.0.0.1:${port}/ws`).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err).toBeInstanceOf(DatabaseUnavailableError);
    expect(err.message).toBe(
      `database: cannot connect to PostgreSQL at 127.0.0.1:${port}/ws: connection refused (is the server running and listening there?)`,
    );
    expect(err.message).not.toContain('s3cretpw');
  });

  describe('a host that never answers', () => {
    let server: Server;
    const sockets: Socket[] = [];
    beforeAll(async () => {
      // Accepts TCP and stays silent: what a client sees of a black-holed host after the handshake.
      server = createServer((s) => sockets.push(s));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      sockets.forEach((s) => s.destroy());
      await new Promise((resolve) => server.close(resolve));
    });

    it('fails after connect_timeout instead of hanging', async () => {
      const { port } = server.address() as { port: number };
      const started = Date.now();
      const err = (await openFeatureStore(`postgresql://u:pw@127.0.0.1:${port}/ws?connect_timeout=1`).catch(
        (e: unknown) => e,
      )) as Error;
      expect(err).toBeInstanceOf(DatabaseUnavailableError);
      expect(err.message).toBe(
        `database: cannot connect to PostgreSQL at 127.0.0.1:${port}/ws: no answer within 1 s (set ?connect_timeout=seconds to wait longer)`,
      );
      expect(Date.now() - started).toBeLessThan(5000);
    });
  });

  it('bounds each attempt by 10 s unless the URL says otherwise, and checks the value', () => {
    const db = resolveDatabase('postgresql://h/ws');
    expect(db.provider === 'postgresql' && db.connectTimeoutMs).toBe(10_000);
    const custom = resolveDatabase('postgresql://h/ws?connect_timeout=2.5');
    expect(custom.provider === 'postgresql' && custom.connectTimeoutMs).toBe(2500);
    expect(() => resolveDatabase('postgresql://h/ws?connect_timeout=soon')).toThrow(
      'database: connect_timeout "soon" must be a positive number of seconds',
    );
  });
});
