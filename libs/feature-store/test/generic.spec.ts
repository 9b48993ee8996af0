import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importGeneric, ImportError, openFeatureStore, type FeatureStore } from '../src';
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
    const items = file('items.csv', 'id,tags,price,released\nx,"new|cheap",9.5,2021-03-01\ny,,20,\n');
    const inter = file(
      'ratings.csv',
      'user_id,item_id,value,timestamp\na,x,4,1600000000\nb,y,2,2021-05-01T10:00:00Z\n',
    );
    const report = await importGeneric(store, {
      interactions: { path: inter },
      users: { path: users, fields: { age: 'numeric', city: 'categorical' } },
      items: {
        path: items,
        fields: { tags: 'multi_categorical', price: 'numeric' },
        availableAtColumn: 'released',
      },
    });
    expect(report).toMatchObject({ users: 2, items: 2, interactions: { ingested: 2, duplicates: 0 } });
    expect((await store.getUsers(['b'])).get('b')?.features).toEqual({ age: 41, city: 'Rome' });
    const x = (await store.getItems(['x', 'y'])).get('x');
    expect(x?.features).toEqual({ tags: ['new', 'cheap'], price: 9.5 });
    expect(x?.availableAt.toISOString()).toBe('2021-03-01T00:00:00.000Z');
    expect(await store.prisma.interaction.count({ where: { eventId: `ratings:a:x:1600000000000` } })).toBe(1);
    expect((await importGeneric(store, { interactions: { path: inter } })).interactions.duplicates).toBe(2);
    expect((await store.getItems(['x'])).get('x')?.features.price).toBe(9.5); // not wiped
  });

  it('imports implicit JSONL interactions and creates missing users and items', async () => {
    const inter = file(
      'clicks.jsonl',
      '{"u":"1","i":"p","v":1,"t":1700000000000,"id":"c1"}\n{"u":"2","i":"q","v":0,"t":1700000001000,"id":"c2"}\n',
    );
    const report = await importGeneric(store, {
      interactions: {
        path: inter,
        kind: 'implicit',
        columns: { user: 'u', item: 'i', value: 'v', time: 't', eventId: 'id' },
      },
    });
    expect(report.interactions.ingested).toBe(2);
    expect(await store.counts()).toEqual({ users: 2, items: 2, interactions: 2 });
    expect((await store.prisma.interaction.findUnique({ where: { eventId: 'c2' } }))?.kind).toBe('implicit');
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
    const unknown = file('u.csv', 'user_id,item_id,value,timestamp\na,zzz,4,1600000000\n');
    const okItems = file('ok.csv', 'id,price\nx,1\n');
    await expect(
      importGeneric(store, {
        interactions: { path: unknown },
        items: { path: okItems, fields: { price: 'numeric' } },
      }),
    ).rejects.toThrow(`${unknown}:2: item_id: unknown item "zzz"`);
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
    const report = await importGeneric(store, { interactions: { path: mixed } }, { skipBadRows: true });
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
    ).rejects.toThrow(`${bad}:0: file: unknown extension ".txt"`);
    expect(await store.counts()).toEqual({ users: 0, items: 0, interactions: 0 });
  });

  it('skips bad rows on request and reports them', async () => {
    const inter = file(
      's.jsonl',
      '{"user_id":"a","item_id":"x","value":5,"timestamp":1600000000}\nnot json\n{"user_id":"a","item_id":"y","value":3,"timestamp":"yesterday"}\n',
    );
    const report = await importGeneric(store, { interactions: { path: inter } }, { skipBadRows: true });
    expect(report.interactions.ingested).toBe(1);
    expect(report.rejected.map((r) => `${r.line}:${r.field}`)).toEqual(['2:row', '3:timestamp']);
  });
});
