import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  importMovieLens100k,
  importMovieLens1m,
  ImportError,
  openFeatureStore,
  type FeatureStore,
} from '../src';
import { backends, sqliteDatabase, type TestDatabase } from './helpers/backends';

/** A tiny MovieLens-100K directory in the real file layout. */
function tinyMl100k(overrides: Partial<Record<string, string>> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ml100k-'));
  const files: Record<string, string> = {
    'u.genre': 'unknown|0\nAction|1\nComedy|2\n\n',
    'u.user': '1|24|M|technician|85711\n2|53|F|other|94043\n',
    'u.item':
      '1|Toy Story (1995)|01-Jan-1995||http://x|0|0|1\n2|GoldenEye (1995)|01-Jan-1995||http://x|0|1|0\n3|Unknown||||1|0|0\n',
    'u.data': '1\t1\t5\t874965758\n1\t2\t3\t876893171\n2\t1\t4\t878542960\n2\t3\t1\t876893119\n',
    ...overrides,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text ?? '', 'latin1');
  return dir;
}

describe.each(backends)('MovieLens importers on $name', ({ create }) => {
  let db: TestDatabase;
  let store: FeatureStore;
  const dirs: string[] = [];
  beforeEach(async () => {
    db = create();
    store = await openFeatureStore(db.url);
  });
  afterEach(async () => {
    await store.close();
    await db.drop();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('imports 100K with the agreed conventions, idempotently, with progress', async () => {
    const dir = tinyMl100k();
    dirs.push(dir);
    const phases = new Set<string>();
    const report = await importMovieLens100k(store, dir, { onProgress: (p) => phases.add(p.phase) });
    expect(report).toMatchObject({
      users: 2,
      items: 3,
      interactions: { ingested: 4, duplicates: 0 },
      rejected: [],
    });
    expect([...phases]).toEqual(['parse', 'items', 'users', 'interactions']);
    const user = (await store.getUsers(['1'])).get('1');
    expect(user?.features).toEqual({ gender: 'M', age: 24, occupation: 'technician', zip_prefix: '85' });
    const items = await store.getItems(['1', '3']);
    expect(items.get('1')?.features).toEqual({ genres: ['Comedy'], release_year: 1995 });
    expect(items.get('1')?.availableAt.toISOString()).toBe('1995-01-01T00:00:00.000Z');
    expect(items.get('3')?.features).toEqual({ genres: ['unknown'], release_year: null });
    const stored = await store.prisma.interaction.findUnique({ where: { eventId: 'ml100k:1:2' } });
    expect(stored).toMatchObject({ userId: '1', itemId: '2', value: 3, kind: 'rating' });
    expect(stored?.eventTime.getTime()).toBe(876893171_000);
    expect(await store.datasetProfile()).toEqual({
      kind: 'explicit',
      scale: [1, 5],
      hasTimes: true,
      name: 'movielens-100k',
    });
    expect(report.summary).toEqual({
      profile: { kind: 'explicit', scale: [1, 5], hasTimes: true, name: 'movielens-100k' },
      users: 2,
      usersWithFeatures: 2,
      items: 3,
      itemsWithFeatures: 3,
      interactions: 4,
      timeSpan: { first: new Date(874965758_000), last: new Date(878542960_000) },
      notPositive: 0,
    });
    const again = await importMovieLens100k(store, dir);
    expect(again).toMatchObject({ users: 0, items: 0, interactions: { ingested: 0, duplicates: 4 } });
  });

  it('says which file of the directory does not exist', async () => {
    const dir = tinyMl100k();
    dirs.push(dir);
    rmSync(join(dir, 'u.data'));
    await expect(importMovieLens100k(store, dir)).rejects.toThrow(
      `${join(dir, 'u.data')}: the file does not exist`,
    );
  });

  it('fails on a malformed file with file, line and field, writing nothing', async () => {
    const dir = tinyMl100k({ 'u.data': '1\t1\t5\t874965758\n1\t2\tx\t876893171\n' });
    dirs.push(dir);
    await expect(importMovieLens100k(store, dir)).rejects.toThrow(
      `${join(dir, 'u.data')}:2: rating: "x" is not an integer`,
    );
    const unknown = tinyMl100k({ 'u.data': '1\t1\t5\t874965758\n9\t2\t3\t876893171\n' });
    dirs.push(unknown);
    await expect(importMovieLens100k(store, unknown)).rejects.toThrow(/u\.data:2: user_id: unknown user 9/);
    const columns = tinyMl100k({ 'u.user': '1|24|M|technician\n' });
    dirs.push(columns);
    await expect(importMovieLens100k(store, columns)).rejects.toBeInstanceOf(ImportError);
    expect(await store.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
  });

  it('skips bad rows when asked and reports them', async () => {
    const dir = tinyMl100k({ 'u.data': '1\t1\t5\t874965758\n1\t2\t9\t876893171\n2\t1\t4\n' });
    dirs.push(dir);
    // 2 of 3 rows are bad: more than the default 1%, so only a higher maxBadRows lets it through
    await expect(importMovieLens100k(store, dir, { skipBadRows: true })).rejects.toThrow(
      `${join(dir, 'u.data')}: rows: 2 of 3 rows are bad`,
    );
    const report = await importMovieLens100k(store, dir, { skipBadRows: true, maxBadRows: 2 });
    expect(report.interactions.ingested).toBe(1);
    expect(report.rejected.map((r) => [r.line, r.field])).toEqual([
      [2, 'rating'],
      [3, 'columns'],
    ]);
  });

  it('rolls back when aborted', async () => {
    const dir = tinyMl100k();
    dirs.push(dir);
    const ctl = new AbortController();
    const run = importMovieLens100k(store, dir, {
      signal: ctl.signal,
      onProgress: (p) => p.phase === 'users' && ctl.abort(),
    });
    await expect(run).rejects.toThrow(/aborted/);
    expect(await store.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
  });

  it('imports the 1M :: format', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ml1m-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'users.dat'), '1::F::1::10::48067\n2::M::56::16::70072\n');
    writeFileSync(
      join(dir, 'movies.dat'),
      "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Jumanji (1995)::Adventure\n",
      'latin1',
    );
    writeFileSync(join(dir, 'ratings.dat'), '1::1::5::978300760\n2::2::3::978302109\n');
    const report = await importMovieLens1m(store, dir);
    expect(report.interactions.ingested).toBe(2);
    expect((await store.getItems(['1'])).get('1')?.features).toEqual({
      genres: ['Animation', "Children's", 'Comedy'],
      release_year: 1995,
    });
    expect(await store.prisma.interaction.count({ where: { eventId: 'ml1m:2:2' } })).toBe(1);
  });
});

const ML100K = process.env.WARMSTART_ML100K ?? join(__dirname, '../../../../shared/datasets/ml-100k');
const haveMl = existsSync(join(ML100K, 'u.data'));
if (!haveMl)
  console.warn(
    `MovieLens-100K not found at ${ML100K}: the full-import test is skipped (set WARMSTART_ML100K)`,
  );
(haveMl ? describe : describe.skip)('MovieLens-100K full import (SQLite)', () => {
  it('imports all 100,000 ratings, 943 users and 1,682 items', async () => {
    const db = sqliteDatabase();
    const store = await openFeatureStore(db.url);
    try {
      const report = await importMovieLens100k(store, ML100K);
      expect(report.interactions.ingested).toBe(
        readFileSync(join(ML100K, 'u.data'), 'utf8').trim().split('\n').length,
      );
      expect(await store.counts()).toEqual({ users: 943, items: 1682, interactions: 100_000 });
      const tasks = [];
      for await (const t of store.snapshot().tasks({ seed: 1 })) tasks.push(t);
      expect(tasks.length).toBe(943);
      expect(
        tasks.every((t) => t.query.length === 10 && t.support.length >= 3 && t.support.length <= 90),
      ).toBe(true);
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
