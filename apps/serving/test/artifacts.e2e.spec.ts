import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { initBackend, saveModel } from '@warmstart/core';
import { loadArtifact } from '../src/adapters/artifact-loader';
import { CoreModelRuntime } from '../src/adapters/core-runtime';
import { makeModel } from './support/world';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

describe('artifact loading through core (checksums verified)', () => {
  let dir: string;
  beforeAll(async () => {
    await initBackend({ prefer: 'cpu' });
    dir = mkdtempSync(path.join(tmpdir(), 'warmstart-artifacts-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads a saved model and refuses a corrupted one', async () => {
    const model = makeModel(3);
    await saveModel(model, path.join(dir, 'good'), {});
    await saveModel(model, path.join(dir, 'bad'), {});
    model.dispose();
    const runtime = new CoreModelRuntime(loadArtifact);
    const loaded = await runtime.load(path.join(dir, 'good'), { modelId: 'good', version: 1 });
    expect(loaded.ratingRange).toEqual([1, 5]);
    expect(loaded.isKnownItem('i1')).toBe(true);
    loaded.dispose();
    writeFileSync(path.join(dir, 'bad', 'weights.bin'), Buffer.alloc(16));
    await expect(runtime.load(path.join(dir, 'bad'), { modelId: 'bad', version: 2 })).rejects.toThrow();
  });
});
