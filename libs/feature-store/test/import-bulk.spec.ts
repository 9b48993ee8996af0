import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { importGeneric, importSynthetic, openFeatureStore, type FeatureStore } from '../src';
import { loadAll } from '../src/importers/load';
import { RowErrors } from '../src/importers/report';
import { backends, sqliteDatabase, type TestDatabase } from './helpers/backends';

// The importers' own connections (db/import-session.ts): what their bulk paths must keep.

describe.each(backends)('bulk import on $name', ({ create }) => {
  let db: TestDatabase;
  let store: FeatureStore;
  let dir: string;
  beforeEach(async () => {
    db = create();
    store = await openFeatureStore(db.url);
    dir = mkdtempSync(join(tmpdir(), 'bulk-'));
  });
  afterEach(async () => {
    await store.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores ids with tabs, newlines, backslashes and quotes exactly (COPY escapes them)', async () => {
    const ids = { user: 'u\t1\\n', item: 'i "2"\nx', event: "e'3\r\\\\" };
    const file = join(dir, 'odd.jsonl');
    writeFileSync(
      file,
      JSON.stringify({
        user_id: ids.user,
        item_id: ids.item,
        value: 4,
        timestamp: 1600000000,
        event_id: ids.event,
      }) + '\n',
    );
    const report = await importGeneric(store, { interactions: { path: file } });
    expect(report.interactions).toEqual({ ingested: 1, duplicates: 0 });
    expect(
      await store.prisma.interaction.findMany({ select: { eventId: true, userId: true, itemId: true } }),
    ).toEqual([{ eventId: ids.event, userId: ids.user, itemId: ids.item }]);
    expect((await importGeneric(store, { interactions: { path: file } })).interactions).toEqual({
      ingested: 0,
      duplicates: 1,
    });
  });

  it('gives up after timeoutMs at the next batch, writing nothing', async () => {
    const run = importSynthetic(
      store,
      { users: 20, items: 10, interactions: 100 },
      {
        batchSize: 5,
        timeoutMs: 50,
        // The first batch outlasts the timeout (a synchronous pause: no timer can fire).
        onProgress: (p) =>
          p.phase === 'items' && Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100),
      },
    );
    await expect(run).rejects.toThrow('import timed out after 50 ms; nothing was written');
    expect(await store.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
  });
});

describe('bulk import on sqlite: secondary indexes of a large import', () => {
  let db: TestDatabase;
  beforeEach(() => (db = sqliteDatabase()));
  afterEach(() => db.drop());

  /** The interactions indexes as sqlite_master holds them (name, SQL, root page). */
  function indexes(): { name: string; sql: string; rootpage: number }[] {
    const raw = new Database(db.url, { readonly: true });
    try {
      return raw
        .prepare(
          `SELECT name, sql, rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'interactions' ORDER BY name`,
        )
        .all() as { name: string; sql: string; rootpage: number }[];
    } finally {
      raw.close();
    }
  }

  function integrity(): string {
    const raw = new Database(db.url, { readonly: true });
    try {
      return raw.pragma('integrity_check', { simple: true }) as string;
    } finally {
      raw.close();
    }
  }

  const large = { users: 100, items: 300, interactions: 12_000, seed: 5 };

  it('an import larger than the table rebuilds them as the migrations define them; a smaller one keeps them', async () => {
    const store = await openFeatureStore(db.url);
    try {
      const before = indexes();
      expect(before.map((i) => i.name)).toContain('interactions_eventTime_idx');
      await importSynthetic(store, large);
      const rebuilt = indexes();
      expect(rebuilt.map(({ name, sql }) => ({ name, sql }))).toEqual(
        before.map(({ name, sql }) => ({ name, sql })),
      );
      // Rebuilt ones live on new pages; the unique event id index (duplicates) was never dropped.
      const moved = rebuilt.filter((i, k) => i.rootpage !== before[k].rootpage).map((i) => i.name);
      expect(moved.sort()).toEqual([
        'interactions_eventTime_idx',
        'interactions_itemId_idx',
        'interactions_userId_eventTime_idx',
        'interactions_userId_seq_idx',
      ]);
      expect(integrity()).toBe('ok');
      // Another seed, as large as the table: written into the indexes as they are.
      const report = await importSynthetic(store, { ...large, seed: 6, source: 'second' });
      expect(report.interactions.ingested).toBe(12_000);
      expect(indexes()).toEqual(rebuilt);
      expect(integrity()).toBe('ok');
      expect((await store.counts()).interactions).toBe(24_000);
    } finally {
      await store.close();
    }
  });

  it('an aborted large import leaves the indexes and no rows', async () => {
    const store = await openFeatureStore(db.url);
    try {
      const before = indexes();
      const ctl = new AbortController();
      const run = importSynthetic(store, large, {
        signal: ctl.signal,
        onProgress: (p) => p.phase === 'interactions' && ctl.abort(),
      });
      await expect(run).rejects.toMatchObject({ name: 'AbortError' });
      expect(indexes()).toEqual(before);
      expect(await store.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
      expect(integrity()).toBe('ok');
    } finally {
      await store.close();
    }
  });
});

describe('bulk import on sqlite: references without per-row foreign key lookups', () => {
  let db: TestDatabase;
  let dir: string;
  beforeEach(() => {
    db = sqliteDatabase();
    dir = mkdtempSync(join(tmpdir(), 'bulk-fk-'));
  });
  afterEach(() => {
    db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  function foreignKeyViolations(): unknown[] {
    const raw = new Database(db.url, { readonly: true });
    try {
      return raw.pragma('foreign_key_check') as unknown[];
    } finally {
      raw.close();
    }
  }

  it('leaves every reference valid over many batches, refuses an unknown item in a late batch, and the store still enforces foreign keys', async () => {
    const store = await openFeatureStore(db.url);
    try {
      // Small batches: later batches reuse what earlier ones checked (items, created users).
      await importSynthetic(
        store,
        { users: 40, items: 100, interactions: 3000, seed: 3 },
        { batchSize: 250 },
      );
      expect(foreignKeyViolations()).toEqual([]);
      const before = await store.counts();
      // Through the importers' writer: batches of 100, the unknown item in the last one.
      const rows = function* () {
        const eventTime = new Date(Date.UTC(2020, 0, 1));
        for (let i = 0; i < 600; i++)
          yield { eventId: `b${i}`, userId: `new${i % 7}`, itemId: `i${1 + (i % 50)}`, value: 4, eventTime };
        yield { eventId: 'z', userId: 'u1', itemId: 'no-such-item', value: 4, eventTime };
      };
      const profile = await store.datasetProfile();
      await expect(
        loadAll(
          store,
          { users: [], items: [], interactions: rows(), interactionCount: 601, profile },
          { batchSize: 100 },
          new RowErrors(false),
          Date.now(),
        ),
      ).rejects.toThrow('interactions[0].itemId: unknown item "no-such-item"');
      expect(await store.counts()).toEqual(before);
      expect(foreignKeyViolations()).toEqual([]);
      // The store's own connection was never touched by the import's pragma.
      await expect(
        store.transaction((tx) =>
          tx.$executeRawUnsafe(
            `INSERT INTO "interactions" ("eventId", "userId", "itemId", "value", "kind", "eventTime") VALUES ('x', 'nobody', 'nothing', 1, 'rating', '2020-01-01T00:00:00.000+00:00')`,
          ),
        ),
      ).rejects.toThrow(/FOREIGN KEY/i);
    } finally {
      await store.close();
    }
  });
});
