import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_TIME, openFeatureStore, type FeatureStore } from '@warmstart/feature-store';
import { parseMaxBadRows, parseScale } from '../src/commands/import-cli';
import { runCli as run } from './support/run-cli';

async function withStore<T>(database: string, fn: (store: FeatureStore) => Promise<T>): Promise<T> {
  const store = await openFeatureStore(database);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe('import csv|jsonl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imp-'));
  let n = 0;
  const fresh = () => join(dir, `w${n++}.db`);
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('imports interactions with typed item features from CSV and from JSONL, and says what it read', async () => {
    const database = fresh();
    const items = file('items.csv', 'id,genres,year\na,Action|Comedy,1990\nb,Drama,1999\n');
    const ratings = file(
      'ratings.csv',
      'user_id,item_id,value,timestamp\nu1,a,4,1000000000\nu1,b,2,1000000100\n',
    );
    const out = await run([
      'import',
      'csv',
      '--interactions',
      ratings,
      '--items',
      items,
      '--item-fields',
      'genres:multi_categorical,year:numeric',
      '--database',
      database,
    ]);
    // the user came from the interactions file only: it is counted
    expect(out).toMatch(
      /imported csv .*: 1 users, 2 items, 2 interactions \(0 duplicates\), 0 rejected rows/,
    );
    expect(out).toContain('  kind: explicit ratings on 1..5');
    expect(out).toContain('  times: 2001-09-09 .. 2001-09-09');
    expect(out).toContain('  read: 1 users (0 with features), 2 items (2 with features), 2 interactions');
    const more = file('more.jsonl', '{"user_id":"u2","item_id":"a","value":5,"timestamp":1000000200}\n');
    expect(await run(['import', 'jsonl', '--interactions', more, '--database', database])).toMatch(
      /1 users, 0 items, 1 interactions/,
    );
    await withStore(database, async (store) => {
      const got = await store.getItems(['a']);
      expect(got.get('a')?.features['genres']).toEqual(['Action', 'Comedy']);
      expect((await store.counts()).interactions).toBe(3);
      expect(await store.datasetProfile()).toEqual({
        kind: 'explicit',
        scale: [1, 5],
        hasTimes: true,
        name: 'ratings',
      });
    });
  });

  it('imports implicit counts without times from a tab-separated .dat file with flags only', async () => {
    const database = fresh();
    const dat = file('user_artists.dat', 'userID\tartistID\tweight\n2\t51\t13883\n2\t52\t0\n3\t51\t7\n');
    const out = await run([
      'import',
      'csv',
      '--interactions',
      dat,
      '--kind',
      'implicit',
      '--user-column',
      'userID',
      '--item-column',
      'artistID',
      '--weight-column',
      'weight',
      '--delimiter',
      'tab',
      '--database',
      database,
    ]);
    expect(out).toMatch(/: 2 users, 1 items, 2 interactions \(0 duplicates\)/);
    expect(out).toContain(
      '  kind: implicit (every interaction is a positive, stored as value 1; 1 rows with weight <= 0 left out)',
    );
    expect(out).toContain('  times: none (the data has no event times)');
    expect(out).toContain('  read: 2 users (0 with features), 1 items (0 with features), 2 interactions');
    await withStore(database, async (store) => {
      expect(await store.datasetProfile()).toEqual({
        kind: 'implicit',
        scale: null,
        hasTimes: false,
        name: 'user_artists',
      });
      const rows = await store.prisma.interaction.findMany();
      expect(rows.every((r) => r.value === 1 && r.eventTime.getTime() === NO_TIME.getTime())).toBe(true);
    });
  });

  it('takes a declared scale, and reports ratings outside it with file, line and field', async () => {
    const database = fresh();
    const half = file('half.csv', 'uid,iid,stars\na,x,0.5\nb,x,4\n');
    const cols = ['--user-column', 'uid', '--item-column', 'iid', '--value-column', 'stars'];
    const out = await run([
      'import',
      'csv',
      '--interactions',
      half,
      ...cols,
      '--scale',
      '0.5:4',
      '--database',
      database,
    ]);
    expect(out).toContain('  kind: explicit ratings on 0.5..4');
    expect(out).toContain('  times: none (the data has no event times)');
    const high = file('high.csv', 'uid,iid,stars\nc,x,4.5\n');
    await expect(
      run(['import', 'csv', '--interactions', high, ...cols, '--scale', '0.5:4', '--database', database]),
    ).rejects.toThrow(`${high}:2: stars: rating 4.5 is outside 0.5..4`);
    await expect(
      run(['import', 'csv', '--interactions', half, '--scale', '4:1', '--database', database]),
    ).rejects.toThrow('--scale must be low:high with low < high (e.g. 1:5 or 0.5:4), got "4:1"');
    await expect(
      run([
        'import',
        'csv',
        '--interactions',
        half,
        '--kind',
        'implicit',
        '--scale',
        '1:5',
        '--database',
        database,
      ]),
    ).rejects.toThrow('--scale is for explicit data');
    await expect(
      run(['import', 'csv', '--interactions', half, '--weight-column', 'w', '--database', database]),
    ).rejects.toThrow('--weight-column is for implicit data');
  });

  it('reports a header without the user column at line 1, with the columns found and expected, and a missing file', async () => {
    const database = fresh();
    const bad = file('badheader.csv', 'user,item_id,value\na,x,4\n');
    await expect(run(['import', 'csv', '--interactions', bad, '--database', database])).rejects.toThrow(
      `${bad}:1: user_id: the header has no column "user_id": found "user", "item_id", "value"; expected "user_id"`,
    );
    await expect(run(['import', 'csv', '--interactions', bad, '--database', database])).rejects.toThrow(
      /\(name the columns with --user-column, --item-column/,
    );
    const nope = join(dir, 'nope.csv');
    await expect(run(['import', 'csv', '--interactions', nope, '--database', database])).rejects.toThrow(
      `${nope}: the file does not exist`,
    );
    // A feature file's header: the hint names the flags of feature files.
    const good = file('good.csv', 'user_id,item_id,value\na,x,4\n');
    const semi = file('semi.csv', 'item_id;genre\nx;rock\n');
    const withItems = [
      'import',
      'csv',
      '--interactions',
      good,
      '--items',
      semi,
      '--item-fields',
      'genre:categorical',
    ];
    await expect(run([...withItems, '--database', database])).rejects.toThrow(
      /semi\.csv:1: id: the header has no column .* \(name the columns with --id-column, --user-fields, --item-fields/,
    );
  });

  it('fails when more than --max-bad-rows of a file is bad, even with --skip-bad-rows', async () => {
    const database = fresh();
    const rows = Array.from({ length: 99 }, (_, i) => `u${i},x,4`).concat(['bad,x,x', 'worse,x,9']);
    const some = file('some.csv', `user_id,item_id,value\n${rows.join('\n')}\n`);
    const args = ['import', 'csv', '--interactions', some, '--skip-bad-rows', '--database', database];
    await expect(run(args)).rejects.toThrow(/2 of 101 rows are bad \(2\.0%, more than maxBadRows 0\.01/);
    const out = await run([...args, '--max-bad-rows', '2']);
    expect(out).toMatch(/99 interactions .*2 rejected rows/);
    expect(out).toContain(`  rejected ${some}:101 value: "x" is not a number`);
    expect(parseMaxBadRows('0.05')).toBe(0.05);
    expect(parseMaxBadRows('10')).toBe(10);
    expect(() => parseMaxBadRows('1.5')).toThrow(
      /--max-bad-rows must be a fraction in \[0, 1\) or a whole count/,
    );
    expect(() => parseMaxBadRows('-1')).toThrow(/--max-bad-rows/);
    expect(parseScale('1:10')).toEqual([1, 10]);
    expect(() => parseScale('5')).toThrow(/--scale/);
  });

  it('names the bad flag', async () => {
    const database = fresh();
    await expect(
      run([
        'import',
        'csv',
        '--interactions',
        'x.csv',
        '--item-fields',
        'genres:list',
        '--database',
        database,
      ]),
    ).rejects.toThrow(/--item-fields: "genres:list"/);
    await expect(run(['import', 'jsonl', '--interactions', 'x.csv', '--database', database])).rejects.toThrow(
      /--interactions: x.csv is not a jsonl file/,
    );
    await expect(run(['import', 'csv', '--interactions', 'x.jsonl', '--database', database])).rejects.toThrow(
      /--interactions: x.jsonl is a JSON file: use `import jsonl`/,
    );
    await expect(
      run(['import', 'csv', '--interactions', 'x.csv', '--delimiter', ';;', '--database', database]),
    ).rejects.toThrow('--delimiter must be one character or "tab", got ";;"');
  });
});

describe('import synthetic', () => {
  it('generates implicit data without user features or times on request', async () => {
    const database = join(mkdtempSync(join(tmpdir(), 'imp-syn-')), 'w.db');
    const out = await run([
      'import',
      'synthetic',
      '--users',
      '20',
      '--items',
      '15',
      '--interactions',
      '100',
      '--kind',
      'implicit',
      '--no-user-features',
      '--no-times',
      '--database',
      database,
    ]);
    expect(out).toContain('  kind: implicit (every interaction is a positive, stored as value 1)');
    expect(out).toContain(
      '  read: 20 users (0 with features), 15 items (15 with features), 100 interactions',
    );
    await withStore(database, async (store) =>
      expect(await store.datasetProfile()).toEqual({
        kind: 'implicit',
        scale: null,
        hasTimes: false,
        name: 'synthetic',
      }),
    );
  });
});

const LASTFM =
  process.env.WARMSTART_LASTFM ??
  join(__dirname, '../../../../shared/datasets/hetrec-lastfm/user_artists.dat');
if (!existsSync(LASTFM))
  console.warn(`hetrec-lastfm not found at ${LASTFM}: its import test is skipped (set WARMSTART_LASTFM)`);
(existsSync(LASTFM) ? describe : describe.skip)('import csv of hetrec-lastfm user_artists.dat', () => {
  it('imports 92,834 implicit interactions of 1,892 users and 17,632 artists, no times, no features', async () => {
    const database = join(mkdtempSync(join(tmpdir(), 'imp-lastfm-')), 'w.db');
    const out = await run([
      'import',
      'csv',
      '--interactions',
      LASTFM,
      '--kind',
      'implicit',
      '--user-column',
      'userID',
      '--item-column',
      'artistID',
      '--weight-column',
      'weight',
      '--delimiter',
      'tab',
      '--database',
      database,
    ]);
    expect(out).toMatch(/: 1892 users, 17632 items, 92834 interactions \(0 duplicates\), 0 rejected rows/);
    expect(out).toContain('  times: none (the data has no event times)');
    await withStore(database, async (store) => {
      expect(await store.counts()).toEqual({ users: 1892, items: 17632, interactions: 92834 });
      expect(await store.datasetProfile()).toEqual({
        kind: 'implicit',
        scale: null,
        hasTimes: false,
        name: 'user_artists',
      });
    });
  }, 120_000);
});
