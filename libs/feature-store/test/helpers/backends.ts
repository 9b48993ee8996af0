import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/** PostgreSQL server for tests (override with WARMSTART_TEST_PG). */
export const PG_URL = process.env.WARMSTART_TEST_PG ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** Synchronous probe (Jest collects tests synchronously): does the server answer? */
function pgAvailable(): boolean {
  const probe = `const {Client}=require('pg');const c=new Client({connectionString:process.argv[1],connectionTimeoutMillis:2000});c.connect().then(()=>c.end()).then(()=>process.exit(0),()=>process.exit(1))`;
  try {
    execFileSync(process.execPath, ['-e', probe, PG_URL], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const pgUp = pgAvailable();
if (!pgUp) {
  console.warn(
    `\n!!! PostgreSQL is not answering at ${PG_URL}: every PostgreSQL feature-store test is SKIPPED !!!\n`,
  );
}

/** A fresh, isolated database of one backend. */
export interface TestDatabase {
  url: string;
  /** Removes it (drops the schema / deletes the directory). */
  drop(): Promise<void>;
}

let counter = 0;

/** A fresh SQLite file in a temporary directory. */
export function sqliteDatabase(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'fs-test-'));
  return { url: join(dir, 'store.db'), drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** A fresh PostgreSQL schema, dropped afterwards. */
export function postgresDatabase(): TestDatabase {
  const schema = `fs_test_${process.pid}_${Date.now().toString(36)}_${counter++}`;
  return {
    url: `${PG_URL}?schema=${schema}`,
    drop: async () => {
      const c = new Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await c.end();
    },
  };
}

export type Backend = { name: 'sqlite' | 'postgresql'; create: () => TestDatabase };

/** Both backends; PostgreSQL only when the server answers (with a loud warning otherwise). */
export const backends: Backend[] = [
  { name: 'sqlite', create: sqliteDatabase },
  ...(pgUp ? [{ name: 'postgresql' as const, create: postgresDatabase }] : []),
];
