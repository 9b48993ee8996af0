import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFeatureStore } from '@warmstart/feature-store';
import { runCli as run } from './support/run-cli';

const MIGRATIONS = join(__dirname, '../../../libs/feature-store/prisma/migrations/sqlite');

describe('migrate', () => {
  it('applies every migration to a fresh SQLite file, then reports nothing to apply', async () => {
    const database = join(mkdtempSync(join(tmpdir(), 'migrate-')), 'sub', 'w.db');
    const expected = readdirSync(MIGRATIONS, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(expected.length).toBeGreaterThan(0);

    const first = await run(['migrate', '--database', database]);
    expect(existsSync(database)).toBe(true);
    expect(first).toContain(`applied ${expected.length} migration(s) to ${database}`);
    for (const name of expected) expect(first).toContain(name);

    const second = await run(['migrate', '--database', database]);
    expect(second).toMatch(/^nothing to apply: .* is up to date/);
    expect(second).toContain(`(${expected.length} migration(s) already applied)`);
    expect(second).not.toMatch(/applied \d+ migration\(s\) to/);

    // The migrated schema is usable without migrating on open.
    const store = await openFeatureStore(database, { migrate: false });
    try {
      expect(await store.runs.list()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('reports nothing to apply on a store that was migrated on open', async () => {
    const database = join(mkdtempSync(join(tmpdir(), 'migrate-')), 'w.db');
    await (await openFeatureStore(database)).close();
    expect(await run(['migrate', '--database', database])).toMatch(/^nothing to apply/);
  });
});
