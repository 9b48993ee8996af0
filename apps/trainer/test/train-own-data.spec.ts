import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '@warmstart/core';
import { buildCli } from '../src/cli';
import { createLogger } from '../src/util/logger';
import { createRng, silentProgress } from '@warmstart/evaluation';

// The pure-JS backend: tiny models, deterministic, and independent of the wasm binary.
process.env['WARMSTART_BACKEND'] = 'cpu';
jest.setTimeout(90_000);

async function run(args: string[]): Promise<string> {
  const lines: string[] = [];
  const ctx = { out: (l: string) => lines.push(l), logger: createLogger('silent'), progress: silentProgress };
  await buildCli({ ctx, writeErr: () => undefined }).parseAsync(args, { from: 'user' });
  return lines.join('\n');
}

describe('train on imported data that is not MovieLens (no config)', () => {
  it('fits the declared rating scale and infers the features from the data', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'train-own-'));
    const database = join(dir, 'own.db');
    const artifacts = join(dir, 'models');
    // Ratings on 1..10, 40 users x 30 items, items with a colour (no MovieLens field anywhere).
    const rng = createRng(5);
    const rows = ['user_id,item_id,value,timestamp'];
    for (let u = 0; u < 40; u++) {
      for (let i = 0; i < 30; i++) {
        if (rng() < 0.6)
          rows.push(`u${u},i${i},${1 + Math.floor(rng() * 10)},${1_300_000_000 + u * 86_400 + i}`);
      }
    }
    writeFileSync(join(dir, 'ratings.csv'), rows.join('\n') + '\n');
    const colours = ['red', 'green', 'blue'];
    writeFileSync(
      join(dir, 'items.csv'),
      ['id,colour', ...Array.from({ length: 30 }, (_, i) => `i${i},${colours[i % 3]}`)].join('\n') + '\n',
    );
    await run([
      'import',
      'csv',
      '--interactions',
      join(dir, 'ratings.csv'),
      '--scale',
      '1:10',
      '--items',
      join(dir, 'items.csv'),
      '--item-fields',
      'colour:categorical',
      '--database',
      database,
    ]);
    // Only a small schedule: the model and features come from the data, not from this file.
    const config = join(dir, 'tiny.yaml');
    writeFileSync(
      config,
      'model: { embeddingDim: 4, hidden: [8] }\ntrain: { epochs: 1, minRatings: 6, querySize: 3 }\n',
    );
    await run(['train', '--config', config, '--database', database, '--artifacts', artifacts]);
    const listed = JSON.parse(await run(['models', 'list', '--json', '--database', database]));
    const model = await loadModel(join(artifacts, listed[0].modelId));
    try {
      expect(model.config.ratingRange).toEqual([1, 10]);
      expect(model.spec.user.fields).toEqual([]);
      expect(model.spec.item.fields.map((f) => [f.name, f.kind])).toEqual([['colour', 'categorical']]);
    } finally {
      model.dispose();
    }
  });
});
