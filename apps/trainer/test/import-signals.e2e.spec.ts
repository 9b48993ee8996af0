import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { openFeatureStore } from '@warmstart/feature-store';
import { MAIN, TrainerProcess, haveDist, pollUntil } from './support/trainer-process';

if (!haveDist)
  console.warn(`${MAIN} not found: the import signal tests are skipped (build first: npx nx build trainer)`);

const PG = process.env['WARMSTART_TEST_PG'] ?? 'postgresql://postgres@127.0.0.1:5432/test';

/** Synchronous probe (Jest collects tests synchronously): does PostgreSQL answer? */
function pgAvailable(): boolean {
  const probe = `const {Client}=require('pg');const c=new Client({connectionString:process.argv[1],connectionTimeoutMillis:2000});c.connect().then(()=>c.end()).then(()=>process.exit(0),()=>process.exit(1))`;
  try {
    execFileSync(process.execPath, ['-e', probe, PG], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

interface Backend {
  name: string;
  fresh(dir: string): { url: string; drop(): Promise<void> };
}

const backends: Backend[] = [
  { name: 'sqlite', fresh: (dir) => ({ url: path.join(dir, 'w.db'), drop: async () => undefined }) },
];
if (haveDist && pgAvailable()) {
  let n = 0;
  backends.push({
    name: 'postgresql',
    fresh: () => {
      const schema = `trainer_sig_${process.pid}_${n++}`;
      return {
        url: `${PG}${PG.includes('?') ? '&' : '?'}schema=${schema}`,
        drop: async () => {
          const c = new Client({ connectionString: PG });
          await c.connect();
          await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await c.end();
        },
      };
    },
  });
} else if (haveDist)
  console.warn(`PostgreSQL not answering at ${PG}: the PostgreSQL import signal tests are SKIPPED`);

/** 300,000 ratings: long enough on both backends to be signalled while it writes. */
function bigCsv(dir: string): string {
  const file = path.join(dir, 'big.csv');
  const lines = ['user_id,item_id,value,timestamp'];
  for (let i = 0; i < 300_000; i++)
    lines.push(`u${i % 3000},i${(i * 7919) % 2000},${1 + (i % 5)},${1600000000 + i}`);
  writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

(haveDist ? describe.each(backends) : describe.skip.each(backends))(
  'import csv as a process on $name: Ctrl-C and SIGTERM roll back and exit 130',
  ({ fresh }) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'warmstart-import-signal-'));
    const csv = bigCsv(dir);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    async function interrupted(signals: NodeJS.Signals[]) {
      const db = fresh(mkdtempSync(path.join(dir, 'db-')));
      const p = new TrainerProcess(['import', 'csv', '--interactions', csv, '--database', db.url]);
      try {
        // Signalled once it is writing interactions inside the import transaction.
        await p.waitFor(
          (e) => e['step'] === 'import csv: interactions' && e['done'] === 0,
          'interactions phase',
          60_000,
        );
        for (const s of signals) expect(p.child.kill(s)).toBe(true);
        const code = await p.exit(30_000);
        const store = await openFeatureStore(db.url);
        try {
          return {
            code,
            output: p.output,
            counts: await store.counts(),
            settings: await store.prisma.setting.count(),
          };
        } finally {
          await store.close();
        }
      } finally {
        p.kill();
        await db.drop();
      }
    }

    it('SIGINT: stops at the next batch, nothing written, exit 130', async () => {
      const r = await interrupted(['SIGINT']);
      expect({ code: r.code, counts: r.counts, settings: r.settings }).toEqual({
        code: 130,
        counts: { users: 0, items: 0, interactions: 0 },
        settings: 0,
      });
      expect(r.output).toMatch(/SIGINT: stopping at the next safe point \(again to force\)/);
      expect(r.output).toMatch(/cancelled: import interrupted; nothing was written/);
      expect(r.output).not.toMatch(/imported csv/);
    }, 120_000);

    it('SIGTERM: the same', async () => {
      const r = await interrupted(['SIGTERM']);
      expect({ code: r.code, counts: r.counts }).toEqual({
        code: 130,
        counts: { users: 0, items: 0, interactions: 0 },
      });
      expect(r.output).toMatch(/SIGTERM: stopping at the next safe point/);
      expect(r.output).toMatch(/cancelled: import interrupted; nothing was written/);
    }, 120_000);

    it('a Ctrl-C delivered twice at once (terminal and npm): one safe stop, exit 130, nothing written', async () => {
      const r = await interrupted(['SIGINT', 'SIGINT']);
      expect({ code: r.code, counts: r.counts }).toEqual({
        code: 130,
        counts: { users: 0, items: 0, interactions: 0 },
      });
      expect(r.output).not.toMatch(/imported csv/);
    }, 120_000);
  },
);

const pgOnly = haveDist && backends.length > 1 ? describe : describe.skip;
pgOnly('import csv as a process on postgresql, blocked on a lock', () => {
  it('a second Ctrl-C exits at once (130) while the first waits for the safe stop', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'warmstart-import-lock-'));
    const schema = `trainer_lock_${process.pid}`;
    const url = `${PG}${PG.includes('?') ? '&' : '?'}schema=${schema}`;
    const file = path.join(dir, 'r.csv');
    writeFileSync(file, 'user_id,item_id,value,timestamp\nu1,i1,4,1600000000\n');
    const admin = new Client({ connectionString: PG });
    await admin.connect();
    const holder = new Client({ connectionString: PG });
    await holder.connect();
    let p: TrainerProcess | undefined;
    try {
      await (await openFeatureStore(url)).close(); // migrated, empty
      // Another session holds the interactions table: the import's transaction waits on it.
      await holder.query('BEGIN');
      await holder.query(`LOCK TABLE "${schema}"."interactions" IN ACCESS EXCLUSIVE MODE`);
      p = new TrainerProcess(['import', 'csv', '--interactions', file, '--database', url]);
      const started = Date.now();
      let waiting = 0;
      while (waiting === 0 && p.child.exitCode === null && Date.now() - started < 20_000) {
        const r = await admin.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE NOT l.granted AND c.relname = 'interactions'`,
        );
        waiting = Number(r.rows[0]?.n ?? 0);
        if (waiting === 0) await new Promise((r) => setTimeout(r, 50));
      }
      expect(waiting).toBeGreaterThan(0);
      p.child.kill('SIGINT');
      await pollUntil(
        () => p!.output.includes('SIGINT: stopping'),
        'the stop message',
        () => p!.output,
      );
      // Still blocked, so the safe stop cannot come: a second Ctrl-C (a separate press, more than
      // withInterrupt's same-press window later) ends it at once.
      await new Promise((r) => setTimeout(r, 1000));
      expect(p.child.exitCode).toBeNull();
      p.child.kill('SIGINT');
      expect(await p.exit(5_000)).toBe(130);
      expect(p.output).not.toMatch(/cancelled:|imported csv/);
      await holder.query('ROLLBACK');
      const store = await openFeatureStore(url);
      try {
        expect(await store.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
      } finally {
        await store.close();
      }
    } finally {
      p?.kill();
      await holder.end().catch(() => undefined);
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
