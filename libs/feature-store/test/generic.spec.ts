import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  importGeneric,
  ImportError,
  NO_TIME,
  openFeatureStore,
  ValidationError,
  type FeatureStore,
} from '../src';
import { backends, type TestDatabase } from './helpers/backends';

describe.each(backends)('generic CSV/JSONL importer on $name', ({ create }) => {
  let db: TestDatabase;
  let store: FeatureStore;
  let dir: string;
  const file = (name: string, text: string | Buffer) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  beforeEach(async () => {
    db = create();
    store = await openFeatureStore(db.url);
    dir = mkdtempSync(join(tmpdir(), 'generic-'));
  });
  afterEach(async () => {
    await store.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('imports CSV interactions with typed user and item feature files', async () => {
    const users = file(
      'users.jsonl',
      '{"id":"a","age":30,"city":"Oslo"}\n{"id":"b","age":"41","city":"Rome"}\n',
    );
    const items = file(
      'items.csv',
      'id,tags,price,released,title\nx,"new|cheap",9.5,2021-03-01,"Toy Story (1995)"\ny,,20,,\n',
    );
    const inter = file(
      'ratings.csv',
      'user_id,item_id,value,timestamp\na,x,4,1600000000\nb,y,2,2021-05-01T10:00:00Z\n',
    );
    const report = await importGeneric(store, {
      interactions: { path: inter },
      users: { path: users, fields: { age: 'numeric', city: 'categorical' } },
      items: {
        path: items,
        fields: { tags: 'multi_categorical', price: 'numeric', title: 'text' },
        availableAtColumn: 'released',
      },
    });
    expect(report).toMatchObject({ users: 2, items: 2, interactions: { ingested: 2, duplicates: 0 } });
    expect((await store.getUsers(['b'])).get('b')?.features).toEqual({ age: 41, city: 'Rome' });
    const x = (await store.getItems(['x', 'y'])).get('x');
    // text is kept as written (training reads its words)
    expect(x?.features).toEqual({ tags: ['new', 'cheap'], price: 9.5, title: 'Toy Story (1995)' });
    expect(x?.availableAt.toISOString()).toBe('2021-03-01T00:00:00.000Z');
    expect(await store.prisma.interaction.count({ where: { eventId: `ratings:a:x:1600000000000` } })).toBe(1);
    expect((await importGeneric(store, { interactions: { path: inter } })).interactions.duplicates).toBe(2);
    expect((await store.getItems(['x'])).get('x')?.features.price).toBe(9.5); // not wiped
  });

  it('imports implicit JSONL interactions as positives (value 1), leaving rows with weight <= 0 out', async () => {
    const inter = file(
      'clicks.jsonl',
      [
        '{"u":"1","i":"p","v":3,"t":1700000000000,"id":"c1"}',
        '{"u":"2","i":"q","v":0,"t":1700000001000,"id":"c2"}',
        '{"u":"3","i":"p","t":1700000002000,"id":"c3"}',
      ].join('\n'),
    );
    const report = await importGeneric(store, {
      interactions: {
        path: inter,
        kind: 'implicit',
        columns: { user: 'u', item: 'i', value: 'v', time: 't', eventId: 'id' },
      },
    });
    // the value column is the weight: 0 is not a positive; a row without one is
    expect(report.interactions.ingested).toBe(2);
    expect(report.summary).toMatchObject({ notPositive: 1, interactions: 2, users: 2, items: 1 });
    expect(await store.counts()).toEqual({ users: 2, items: 1, interactions: 2 });
    const rows = await store.prisma.interaction.findMany({ orderBy: { eventId: 'asc' } });
    expect(rows.map((r) => [r.eventId, r.value, r.kind])).toEqual([
      ['c1', 1, 'implicit'],
      ['c3', 1, 'implicit'],
    ]);
    expect(await store.datasetProfile()).toEqual({
      kind: 'implicit',
      scale: null,
      hasTimes: true,
      name: 'clicks',
    });
  });

  it('names file, line and field for malformed input and writes nothing', async () => {
    const items = file('items.csv', 'id,price\nx,1\ny,cheap\n');
    const inter = file('r.csv', 'user_id,item_id,value,timestamp\na,x,4,1600000000\n');
    await expect(
      importGeneric(store, {
        interactions: { path: inter },
        items: { path: items, fields: { price: 'numeric' } },
      }),
    ).rejects.toThrow(`${items}:3: price: "cheap" is not a number`);
    const cols = file('c.csv', 'user_id,item_id,value,timestamp\na,x,4\n');
    await expect(importGeneric(store, { interactions: { path: cols } })).rejects.toThrow(
      `${cols}:2: columns:`,
    );
    const latin = file(
      'l.csv',
      Buffer.concat([
        Buffer.from('user_id,item_id,value,timestamp\na,x,4,1600000000\nb,'),
        Buffer.from([0xe9, 0xff]),
        Buffer.from(',4,1\n'),
      ]),
    );
    await expect(importGeneric(store, { interactions: { path: latin } })).rejects.toThrow(
      `${latin}:3: encoding: is not valid UTF-8`,
    );
    const range = file('range.csv', 'user_id,item_id,value,timestamp\na,x,6,1600000000\n');
    await expect(importGeneric(store, { interactions: { path: range } })).rejects.toThrow(
      `${range}:2: value: rating 6 is outside 1..5`,
    );
    expect(await store.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
  });

  it('reports over-long ids and event ids as too long, naming file, line and field', async () => {
    const long = 'x'.repeat(129);
    const user = file('lu.csv', `user_id,item_id,value,timestamp\n${long},x,4,1600000000\n`);
    await expect(importGeneric(store, { interactions: { path: user } })).rejects.toThrow(
      `${user}:2: user_id: is longer than 128 characters (129)`,
    );
    const empty = file('e.csv', 'user_id,item_id,value,timestamp\n  ,x,4,1600000000\n');
    await expect(importGeneric(store, { interactions: { path: empty } })).rejects.toThrow(
      `${empty}:2: user_id: is missing or empty`,
    );
    const items = file('li.csv', `id,price\nok,1\n${long},2\n`);
    const inter = file('ok.csv', 'user_id,item_id,value,timestamp\na,ok,4,1600000000\n');
    await expect(
      importGeneric(store, {
        interactions: { path: inter },
        items: { path: items, fields: { price: 'numeric' } },
      }),
    ).rejects.toThrow(`${items}:3: id: is longer than 128 characters (129)`);
    // an event id that is present but invalid is rejected, not silently replaced by a generated one
    const event = file(
      'ev.csv',
      `user_id,item_id,value,timestamp,event_id\na,x,4,1600000000,e1\nb,x,3,1600000000,${long}\n`,
    );
    const err = await importGeneric(store, { interactions: { path: event } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect(err).toMatchObject({ file: event, line: 3, field: 'event_id' });
    expect((err as Error).message).toBe(`${event}:3: event_id: is longer than 128 characters (129)`);
    expect(await store.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
    // skipBadRows leaves just that row out; an empty event id cell still gets a generated id
    const mixed = file(
      'mix.csv',
      `user_id,item_id,value,timestamp,event_id\na,x,4,1600000000,e1\nb,x,3,1600000000,${long}\nc,x,5,1600000000,\n`,
    );
    const report = await importGeneric(
      store,
      { interactions: { path: mixed } },
      { skipBadRows: true, maxBadRows: 1 },
    );
    expect(report.interactions.ingested).toBe(2);
    expect(report.rejected.map((r) => `${r.line}:${r.field}`)).toEqual(['3:event_id']);
    expect(await store.prisma.interaction.count({ where: { eventId: 'mix:c:x:1600000000000' } })).toBe(1);
  });

  it('rejects an unknown file extension with an ImportError naming the file', async () => {
    const xml = file('ratings.xml', '<ratings/>');
    const err = await importGeneric(store, { interactions: { path: xml } }, { skipBadRows: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ImportError);
    expect(err).toMatchObject({ file: xml, line: 0, field: 'file' });
    expect((err as Error).message).toContain('unknown extension ".xml"');
    // checked for every file before anything is read or written
    const ok = file('r.csv', 'user_id,item_id,value,timestamp\na,x,4,1600000000\n');
    const bad = join(dir, 'users.txt');
    await expect(
      importGeneric(store, { interactions: { path: ok }, users: { path: bad, fields: {} } }),
    ).rejects.toThrow(`${bad}: unknown extension ".txt"`);
    expect(await store.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
  });

  it('declares explicit data on its scale; ratings outside the scale are bad rows naming the field', async () => {
    const half = file(
      'half.csv',
      'user_id,item_id,value,timestamp\na,x,0.5,1600000000\nb,x,3.5,1600000100\n',
    );
    const report = await importGeneric(store, { interactions: { path: half, scale: [0.5, 4] } });
    expect(report.interactions.ingested).toBe(2);
    expect(report.summary.profile).toEqual({
      kind: 'explicit',
      scale: [0.5, 4],
      hasTimes: true,
      name: 'half',
    });
    expect(await store.datasetProfile()).toEqual({
      kind: 'explicit',
      scale: [0.5, 4],
      hasTimes: true,
      name: 'half',
    });
    expect(store.ratingRange).toEqual([0.5, 4]);
    const high = file('high.csv', 'user_id,item_id,value,timestamp\nc,x,4.5,1600000000\n');
    await expect(importGeneric(store, { interactions: { path: high, scale: [0.5, 4] } })).rejects.toThrow(
      `${high}:2: value: rating 4.5 is outside 0.5..4`,
    );
    // one store holds one dataset: another kind or scale is refused before anything is written
    const clicks = file('clicks.csv', 'user_id,item_id\nd,y\n');
    const err = await importGeneric(store, { interactions: { path: clicks, kind: 'implicit' } }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'kind' });
    expect((err as Error).message).toMatch(
      /already holds explicit 0.5..4 interactions; this import is implicit/,
    );
    const stars = file('stars.csv', 'user_id,item_id,value,timestamp\ne,x,3,1600000000\n');
    await expect(importGeneric(store, { interactions: { path: stars } })).rejects.toThrow(
      /^scale: the store already holds explicit 0.5..4 interactions; this import is explicit 1..5/,
    );
    expect(await store.counts()).toEqual({ users: 2, items: 1, interactions: 2 });
  });

  it('imports tab-separated play counts without times (the hetrec-lastfm shape), idempotently', async () => {
    const dat = file('user_artists.dat', 'userID\tartistID\tweight\n2\t51\t13883\n2\t52\t0\n3\t51\t7\n');
    const spec = {
      interactions: {
        path: dat,
        format: 'csv' as const,
        delimiter: '\t',
        kind: 'implicit' as const,
        columns: { user: 'userID', item: 'artistID', weight: 'weight' },
      },
    };
    const report = await importGeneric(store, spec);
    expect(report).toMatchObject({ users: 2, items: 1, interactions: { ingested: 2, duplicates: 0 } });
    expect(report.summary).toEqual({
      profile: { kind: 'implicit', scale: null, hasTimes: false, name: 'user_artists' },
      users: 2,
      usersWithFeatures: 0,
      items: 1,
      itemsWithFeatures: 0,
      interactions: 2,
      timeSpan: null,
      notPositive: 1,
    });
    const rows = await store.prisma.interaction.findMany({ orderBy: { eventId: 'asc' } });
    expect(rows.map((r) => [r.eventId, r.value, r.kind, r.eventTime.getTime()])).toEqual([
      ['user_artists:2:51', 1, 'implicit', NO_TIME.getTime()],
      ['user_artists:3:51', 1, 'implicit', NO_TIME.getTime()],
    ]);
    expect((await store.getItems(['51'])).get('51')?.availableAt).toEqual(NO_TIME);
    expect(await store.datasetProfile()).toEqual({
      kind: 'implicit',
      scale: null,
      hasTimes: false,
      name: 'user_artists',
    });
    const again = await importGeneric(store, spec);
    expect(again).toMatchObject({ users: 0, items: 0, interactions: { ingested: 0, duplicates: 2 } });
    // an unknown extension needs the format named
    await expect(importGeneric(store, { interactions: { path: dat } })).rejects.toThrow(
      `${dat}: unknown extension ".dat": use .csv, .tsv, .jsonl, .ndjson or .json, or name the format`,
    );
  });

  it('reads a JSONL file as having no times when its first record has none', async () => {
    const inter = file(
      'nt.jsonl',
      '{"user_id":"a","item_id":"x","value":4}\n{"user_id":"b","item_id":"x","value":2,"timestamp":1600000000}\n',
    );
    await expect(importGeneric(store, { interactions: { path: inter } })).rejects.toThrow(
      `${inter}:2: timestamp: the first row has no time, so no row may have one`,
    );
    const ok = file(
      'nt2.jsonl',
      '{"user_id":"a","item_id":"x","value":4}\n{"user_id":"b","item_id":"x","value":2}\n',
    );
    // a time column named explicitly is required
    await expect(
      importGeneric(store, { interactions: { path: ok, columns: { time: 'timestamp' } } }),
    ).rejects.toThrow(`${ok}:1: timestamp: is missing or empty`);
    const report = await importGeneric(store, { interactions: { path: ok } });
    expect(report.summary).toMatchObject({ timeSpan: null, profile: { hasTimes: false } });
  });

  it('reports a header without a required column at the header line, listing the columns found and expected', async () => {
    const bad = file('badheader.csv', 'uid,item_id,value,timestamp\na,x,4,1600000000\n');
    const err = await importGeneric(store, { interactions: { path: bad } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect(err).toMatchObject({ file: bad, line: 1, field: 'user_id' });
    expect((err as Error).message).toBe(
      `${bad}:1: user_id: the header has no column "user_id": found "uid", "item_id", "value", "timestamp"; ` +
        'expected "user_id", "item_id", "value" (the rating), optionally "timestamp" (the event time) and "event_id"',
    );
    // a tab-separated file read as comma-separated: one column, and a hint
    const tabs = file('tabs.csv', 'user_id\titem_id\tvalue\na\tx\t4\n');
    await expect(importGeneric(store, { interactions: { path: tabs } })).rejects.toThrow(
      /:1: user_id: .*is the file separated by another delimiter\?/,
    );
    // a time column named explicitly must be there; feature columns too
    const ok = file('ok.csv', 'user_id,item_id,value\na,x,4\n');
    await expect(
      importGeneric(store, { interactions: { path: ok, columns: { time: 'when' } } }),
    ).rejects.toThrow(`${ok}:1: when: the header has no column "when"`);
    const items = file('items.csv', 'id,genre\nx,Drama\n');
    await expect(
      importGeneric(store, {
        interactions: { path: ok },
        items: { path: items, fields: { year: 'numeric' } },
      }),
    ).rejects.toThrow(`${items}:1: year: the header has no column "year"`);
    expect(await store.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
  });

  it('says a missing file does not exist', async () => {
    const nope = join(dir, 'nope.csv');
    const err = await importGeneric(store, { interactions: { path: nope } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect((err as Error).message).toBe(`${nope}: the file does not exist`);
    const ok = file('ok.csv', 'user_id,item_id,value\na,x,4\n');
    await expect(
      importGeneric(store, { interactions: { path: ok }, users: { path: join(dir, 'u.csv'), fields: {} } }),
    ).rejects.toThrow(`${join(dir, 'u.csv')}: the file does not exist`);
    await expect(importGeneric(store, { interactions: { path: dir + '/sub.csv' } })).rejects.toThrow(
      /does not exist/,
    );
  });

  it('fails when more than maxBadRows of a file is bad, even when skipping; a file of only bad rows fails', async () => {
    const rows = Array.from(
      { length: 200 },
      (_, i) => `u${i},x,${i === 50 || i === 90 || i === 150 ? 9 : 4},1600000000`,
    );
    const some = file('some.csv', `user_id,item_id,value,timestamp\n${rows.join('\n')}\n`);
    const run = (maxBadRows?: number) =>
      importGeneric(store, { interactions: { path: some } }, { skipBadRows: true, maxBadRows });
    await expect(run()).rejects.toThrow(
      `${some}: rows: 3 of 200 rows are bad (1.5%, more than maxBadRows 0.01 = 1.0%); the first one: line 52: value: rating 9 is outside 1..5`,
    );
    await expect(run(2)).rejects.toThrow(`${some}:152: rows: more than 2 bad rows`);
    expect(await store.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
    expect(await run(0.02)).toMatchObject({ badRows: 3, interactions: { ingested: 197 } });
    const garbage = file('garbage.csv', 'user_id,item_id,value,timestamp\n' + 'x\n'.repeat(20));
    await expect(
      importGeneric(store, { interactions: { path: garbage } }, { skipBadRows: true, maxBadRows: 100 }),
    ).rejects.toThrow(`${garbage}: rows: every row is bad (20 of 20)`);
    const header = file('header.csv', 'user_id,item_id,value,timestamp\n');
    await expect(importGeneric(store, { interactions: { path: header } })).rejects.toThrow(
      `${header}: rows: has no interactions to import`,
    );
    await expect(
      importGeneric(store, { interactions: { path: some } }, { skipBadRows: true, maxBadRows: 1.5 }),
    ).rejects.toThrow(/^maxBadRows: 1.5 must be a fraction/);
  });

  it('imports entities without features: id-only files, and ids the files lack', async () => {
    const users = file('users.csv', 'id\na\n');
    const items = file('items.csv', 'id,genre\nx,Drama\nz,\n');
    const inter = file(
      'r.csv',
      'user_id,item_id,value,timestamp\na,x,4,1600000500\nb,y,2,1600000100\nb,x,3,1600000200\n',
    );
    const report = await importGeneric(store, {
      interactions: { path: inter },
      users: { path: users, fields: {} },
      items: { path: items, fields: { genre: 'categorical' } },
    });
    expect(report).toMatchObject({ users: 2, items: 3, interactions: { ingested: 3 } });
    expect(report.summary).toMatchObject({
      users: 2,
      usersWithFeatures: 0,
      items: 3,
      itemsWithFeatures: 1,
      interactions: 3,
      timeSpan: { first: new Date(1600000100_000), last: new Date(1600000500_000) },
    });
    const stored = await store.getItems(['x', 'y', 'z']);
    expect(stored.get('y')?.features).toEqual({});
    // new items without a declared availability are available from their first interaction
    expect(stored.get('x')?.availableAt).toEqual(new Date(1600000200_000));
    expect(stored.get('y')?.availableAt).toEqual(new Date(1600000100_000));
    expect((await store.getUsers(['a', 'b'])).get('b')?.features).toEqual({});
  });

  it('names the line of a bad byte deep in a file larger than one read, and aborts with an AbortError', async () => {
    const lines = Array.from({ length: 60_000 }, (_, i) =>
      Buffer.from(`u${i % 500},i${i % 700},4,${1600000000 + i}\n`),
    );
    lines[49_998] = Buffer.concat([
      Buffer.from('u1,'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from(',4,1600000000\n'),
    ]);
    const big = file('big.csv', Buffer.concat([Buffer.from('user_id,item_id,value,timestamp\n'), ...lines]));
    await expect(importGeneric(store, { interactions: { path: big } })).rejects.toThrow(
      `${big}:50000: encoding: is not valid UTF-8`,
    );
    const ctl = new AbortController();
    const err = await importGeneric(
      store,
      { interactions: { path: big } },
      {
        skipBadRows: true,
        batchSize: 1000,
        signal: ctl.signal,
        onProgress: (p) => p.phase === 'interactions' && p.done >= 3000 && ctl.abort(),
      },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'AbortError', message: 'import aborted; nothing was written' });
    expect(await store.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
  });

  it('skips bad rows on request and reports them', async () => {
    const inter = file(
      's.jsonl',
      '{"user_id":"a","item_id":"x","value":5,"timestamp":1600000000}\nnot json\n{"user_id":"a","item_id":"y","value":3,"timestamp":"yesterday"}\n',
    );
    const report = await importGeneric(
      store,
      { interactions: { path: inter } },
      { skipBadRows: true, maxBadRows: 0.7 },
    );
    expect(report.interactions.ingested).toBe(1);
    expect(report.rejected.map((r) => `${r.line}:${r.field}`)).toEqual(['2:row', '3:timestamp']);
    expect(report.badRows).toBe(2);
  });
});
