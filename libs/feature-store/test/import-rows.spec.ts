import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  importGeneric,
  importSynthetic,
  openFeatureStore,
  type FeatureStore,
  type ImportReport,
} from '../src';
import { backends } from './helpers/backends';

// The rows a sequence of imports leaves in every table, compared with the rows the importers
// wrote before they used the databases' bulk paths (recorded from that code into
// test/fixtures/import-rows.json, the same on both backends; RECORD_IMPORT_ROWS=1 records them again).
const FIXTURES = join(__dirname, 'fixtures');
const RECORD = process.env.RECORD_IMPORT_ROWS === '1';

/**
 * Every row of the data tables in primary-key order. Times at or after `since` are the imports'
 * own clock ("now"), so they become `now<k>` by rank: the same import writes the same token.
 */
async function dumpRows(store: FeatureStore, since: number): Promise<unknown> {
  const p = store.prisma;
  const tables = {
    users: await p.user.findMany({ orderBy: { id: 'asc' } }),
    user_features: await p.userFeature.findMany({ orderBy: { id: 'asc' } }),
    items: await p.item.findMany({ orderBy: { id: 'asc' } }),
    item_features: await p.itemFeature.findMany({ orderBy: { id: 'asc' } }),
    interactions: await p.interaction.findMany({ orderBy: { seq: 'asc' } }),
    settings: (await p.setting.findMany({ orderBy: { key: 'asc' } })).map(({ key, value }) => ({
      key,
      value,
    })),
  };
  const nows = new Set<number>();
  const visit = (v: unknown, fn: (d: Date) => unknown): unknown =>
    v instanceof Date
      ? fn(v)
      : Array.isArray(v)
        ? v.map((x) => visit(x, fn))
        : v !== null && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, visit(x, fn)]))
          : v;
  visit(tables, (d) => d.getTime() >= since && nows.add(d.getTime()));
  const rank = [...nows].sort((a, b) => a - b);
  return visit(tables, (d) => (d.getTime() >= since ? `now${rank.indexOf(d.getTime())}` : d.toISOString()));
}

/** What a report says, without its duration. */
function outcome(r: ImportReport): unknown {
  const { durationMs: _, ...rest } = r;
  return JSON.parse(JSON.stringify(rest));
}

const pause = () => new Promise((r) => setTimeout(r, 5));

describe.each(backends)('imports on $name write the same rows as before the bulk path', ({ create }) => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'import-rows-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const file = (n: string, text: string) => {
    writeFileSync(join(dir, n), text);
    return join(dir, n);
  };

  it('generic files (features, an in-file duplicate, a re-import, a changed feature) then synthetic data', async () => {
    const items = file(
      'items.csv',
      'id,genres,year,released\ni1,Action|Comedy,1999,2001-02-03T00:00:00Z\ni2,,2005,\ni3,Drama,,\n',
    );
    const users = file('users.csv', 'id,gender,age\nu1,F,30\nu2,M,\n');
    const users2 = file('users2.csv', 'id,gender,age\nu1,F,30\nu2,M,41\nu4,F,19\n');
    const ratings = file(
      'ratings.csv',
      [
        'user_id,item_id,value,timestamp,event_id',
        'u1,i1,4,1600000000,e1',
        'u2,i1,3,1600000100,e2',
        'u1,i2,5,1600000200,',
        'u3,i4,2,1600000300,e4',
        'u1,i1,4,1600000000,e1',
        'u2,i2,1,1600000400,e5',
      ].join('\n') + '\n',
    );
    const more = file(
      'more.csv',
      'user_id,item_id,value,timestamp,event_id\nu4,i3,5,1600000500,e6\nu1,i1,4,1600000000,e1\nu2,i4,2,1600000600,e7\n',
    );
    const userFields = { gender: 'categorical', age: 'numeric' } as const;
    const itemFields = { genres: 'multi_categorical', year: 'numeric' } as const;
    const db = create();
    const since = Date.now();
    const store = await openFeatureStore(db.url);
    const reports: unknown[] = [];
    try {
      const generic = (interactions: string, usersFile: string) =>
        importGeneric(
          store,
          {
            interactions: { path: interactions },
            users: { path: usersFile, fields: userFields },
            items: { path: items, fields: itemFields, availableAtColumn: 'released' },
          },
          { batchSize: 2 },
        );
      reports.push(outcome(await generic(ratings, users)));
      await pause();
      reports.push(outcome(await generic(ratings, users))); // the same files again: nothing changes
      await pause();
      reports.push(outcome(await generic(more, users2)));
      await pause();
      reports.push(
        outcome(
          await importSynthetic(store, { users: 12, items: 9, interactions: 40, seed: 3 }, { batchSize: 7 }),
        ),
      );
      const actual = { reports, rows: await dumpRows(store, since) };
      const fixture = join(FIXTURES, 'import-rows.json');
      if (RECORD) {
        mkdirSync(FIXTURES, { recursive: true });
        writeFileSync(fixture, JSON.stringify(actual, null, 1) + '\n');
      }
      expect(existsSync(fixture)).toBe(true);
      expect(actual).toEqual(JSON.parse(readFileSync(fixture, 'utf8')));
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
