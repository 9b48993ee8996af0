import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFeatureStore } from '@warmstart/feature-store';
import { buildCli } from '../src/cli';
import { trainCommand } from '../src/commands/train';
import { createLogger } from '../src/util/logger';
import { syntheticImportArgs } from './support/run-cli';
import { silentProgress } from '@warmstart/evaluation';

process.env['WARMSTART_BACKEND'] = 'cpu';
jest.setTimeout(60_000);

const ctx = (lines: string[]) => ({
  out: (l: string) => lines.push(l),
  logger: createLogger('silent'),
  progress: silentProgress,
});

/** The pid of a process that has exited (a finished child). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid as number;

describe('train clears what a killed train left', () => {
  const dir = mkdtempSync(join(tmpdir(), 'train-debris-'));
  const database = join(dir, 'w.db');
  const artifacts = join(dir, 'models');
  const config = join(dir, 'tiny.yaml');
  writeFileSync(
    config,
    [
      'model: { embeddingDim: 4, hidden: [8] }',
      'train: { epochs: 1, pretrainEpochs: 0, metaBatchSize: 16, innerSteps: 1, maxRatings: 30 }',
      'schedule: { lockTtlSeconds: 60, heartbeatSeconds: 5 }',
    ].join('\n'),
  );

  beforeAll(async () => {
    const lines: string[] = [];
    await buildCli({ ctx: ctx(lines), writeErr: () => undefined }).parseAsync(syntheticImportArgs(database), {
      from: 'user',
    });
  });

  it('removes temp artifact dirs of dead processes and fails the run whose lease expired', async () => {
    mkdirSync(artifacts, { recursive: true });
    const dead = join(artifacts, `.m-20261206-abc123.tmp-${deadPid()}-0a1b2c3d`);
    const live = join(artifacts, `.m-20261206-def456.tmp-${process.ppid}-0a1b2c3d`);
    for (const d of [dead, live]) {
      mkdirSync(d);
      writeFileSync(join(d, 'weights.bin'), 'partial');
    }
    const s = await openFeatureStore(database);
    try {
      // A trainer killed a moment ago: its run's heartbeat is fresh, its lease about to expire.
      const killed = await s.runs.start({ kind: 'train', config: {} });
      expect(await s.runs.acquireLock('train', 1, 'killed-trainer')).not.toBeNull();
      await new Promise((r) => setTimeout(r, 20));
      await trainCommand({ database, artifacts, config }, ctx([]));
      const record = await s.runs.get(killed.id);
      expect(record?.status).toBe('failed');
      expect(record?.error).toMatch(/no heartbeat: its process stopped .* "train" lease expired/);
      expect(existsSync(dead)).toBe(false);
      expect(existsSync(live)).toBe(true); // its writer is alive and it is recent
      expect(await s.runs.list({ status: 'running' })).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('a run killed between promotion and its end is recorded succeeded with the model it promoted', async () => {
    const s = await openFeatureStore(database);
    try {
      const killed = await s.runs.start({ kind: 'train', config: {} });
      await s.registry.registerModel({
        modelId: 'm-killed',
        algorithm: 'anil',
        artifactUri: 'm-killed',
        runId: killed.id,
      });
      await s.registry.promote('m-killed');
      expect(await s.runs.acquireLock('train', 1, 'killed-trainer')).not.toBeNull();
      await new Promise((r) => setTimeout(r, 20));
      await trainCommand({ database, artifacts, config, promote: false }, ctx([]));
      expect(await s.runs.get(killed.id)).toMatchObject({
        status: 'succeeded',
        metrics: { modelId: 'm-killed', promoted: true },
      });
    } finally {
      await s.close();
    }
  });
});
