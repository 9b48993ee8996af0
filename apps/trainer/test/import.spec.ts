import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFeatureStore } from '@warmstart/feature-store';
import { runCli as run } from './support/run-cli';

describe('import csv|jsonl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imp-'));
  const database = join(dir, 'w.db');

  it('imports interactions with typed item features from CSV and from JSONL', async () => {
    writeFileSync(join(dir, 'items.csv'), 'id,genres,year\na,Action|Comedy,1990\nb,Drama,1999\n');
    writeFileSync(
      join(dir, 'ratings.csv'),
      'user_id,item_id,value,timestamp\nu1,a,4,1000000000\nu1,b,2,1000000100\n',
    );
    const out = await run([
      'import',
      'csv',
      '--interactions',
      join(dir, 'ratings.csv'),
      '--items',
      join(dir, 'items.csv'),
      '--item-fields',
      'genres:multi_categorical,year:numeric',
      '--database',
      database,
    ]);
    expect(out).toMatch(/imported csv .*2 items, 2 interactions/);
    writeFileSync(
      join(dir, 'more.jsonl'),
      '{"user_id":"u2","item_id":"a","value":5,"timestamp":1000000200}\n',
    );
    expect(
      await run(['import', 'jsonl', '--interactions', join(dir, 'more.jsonl'), '--database', database]),
    ).toMatch(/1 interactions/);
    const store = await openFeatureStore(database);
    try {
      const items = await store.getItems(['a']);
      expect(items.get('a')?.features['genres']).toEqual(['Action', 'Comedy']);
      expect((await store.counts()).interactions).toBe(3);
    } finally {
      await store.close();
    }
  });

  it('names the bad flag', async () => {
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
  });
});
