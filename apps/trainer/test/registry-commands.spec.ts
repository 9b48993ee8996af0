import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFeatureStore } from '@warmstart/feature-store';
import { runCli as run } from './support/run-cli';

describe('models and runs commands', () => {
  const database = join(mkdtempSync(join(tmpdir(), 'reg-')), 'w.db');

  beforeAll(async () => {
    const store = await openFeatureStore(database);
    try {
      const run1 = await store.runs.start({ kind: 'train', config: { a: 1 } });
      await store.runs.fail(run1.id, new Error('boom'));
      await store.registry.registerModel({
        modelId: 'm-a',
        algorithm: 'melu',
        artifactUri: 'm-a',
        metrics: { validation: { mae: 0.8 } },
      });
      await store.registry.registerModel({
        modelId: 'm-b',
        algorithm: 'maml',
        artifactUri: 'm-b',
        metrics: { validation: { mae: 0.7 } },
      });
    } finally {
      await store.close();
    }
  });

  it('lists, promotes and rolls back model versions', async () => {
    expect(await run(['models', 'list', '--database', database])).toMatch(
      /m-b .*candidate[\s\S]*m-a .*candidate/,
    );
    expect(await run(['models', 'promote', 'm-a', '--database', database])).toMatch(/promoted v\d+ +m-a/);
    await run(['models', 'promote', 'm-b', '--database', database]);
    const shown = JSON.parse(await run(['models', 'show', 'm-b', '--database', database]));
    expect(shown.status).toBe('promoted');
    expect(await run(['models', 'rollback', '--database', database])).toMatch(/now promoted: v\d+ +m-a/);
    const listed = JSON.parse(
      await run(['models', 'list', '--json', '--status', 'promoted', '--database', database]),
    );
    expect(listed.map((m: { modelId: string }) => m.modelId)).toEqual(['m-a']);
  });

  it('lists runs with their error and rejects an unknown model id', async () => {
    expect(await run(['runs', 'list', '--database', database])).toMatch(/train +failed .*boom/);
    await expect(run(['models', 'show', 'nope', '--database', database])).rejects.toThrow(
      /model nope not found/,
    );
  });
});
