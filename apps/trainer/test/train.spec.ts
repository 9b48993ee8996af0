import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '@warmstart/core';
import { openFeatureStore } from '@warmstart/feature-store';
import pino from 'pino';
import { buildCli } from '../src/cli';
import { scheduleCommand } from '../src/commands/schedule';
import { trainCommand } from '../src/commands/train';
import { createLogger } from '../src/util/logger';
import { LockHeldError } from '../src/schedule/lease';
import { syntheticImportArgs } from './support/run-cli';
import { silentProgress } from '@warmstart/evaluation';

// The pure-JS backend: tiny models, deterministic, and independent of the wasm binary.
process.env['WARMSTART_BACKEND'] = 'cpu';
// Real (tiny) training runs; the per-project testTimeout does not apply in multi-project runs.
jest.setTimeout(60_000);

const ctx = (lines: string[]) => ({
  out: (l: string) => lines.push(l),
  logger: createLogger('silent'),
  progress: silentProgress,
});

async function run(args: string[]): Promise<string> {
  const lines: string[] = [];
  await buildCli({ ctx: ctx(lines), writeErr: () => undefined }).parseAsync(args, { from: 'user' });
  return lines.join('\n');
}

describe('train', () => {
  const dir = mkdtempSync(join(tmpdir(), 'train-'));
  const database = join(dir, 'w.db');
  const artifacts = join(dir, 'models');
  const config = join(dir, 'tiny.yaml');
  const store = { database, artifacts };
  writeFileSync(
    config,
    [
      'model: { embeddingDim: 4, hidden: [8] }',
      'train: { epochs: 2, pretrainEpochs: 1, metaBatchSize: 16, innerSteps: 1, maxRatings: 30 }',
      'schedule: { lockTtlSeconds: 60, heartbeatSeconds: 5 }',
    ].join('\n'),
  );

  /** A config file with the tiny model of these tests and the given `train` line. */
  const tinyConfig = (name: string, trainLine: string): string => {
    const file = join(dir, name);
    writeFileSync(file, ['model: { embeddingDim: 4, hidden: [8] }', trainLine].join('\n'));
    return file;
  };

  beforeAll(async () => {
    const out = await run(syntheticImportArgs(database));
    expect(out).toMatch(/imported synthetic .*50 users, 40 items, 1500 interactions/);
  });

  it('registers a candidate, promotes the first model, and records the run', async () => {
    const out = await run(['train', '--config', config, '--database', database, '--artifacts', artifacts]);
    const modelId = /registered (m-\S+) /.exec(out)![1];
    expect(out).toMatch(/promoted/);
    expect(existsSync(join(artifacts, modelId, 'manifest.json'))).toBe(true);
    const s = await openFeatureStore(database);
    try {
      expect((await s.registry.getPromoted())?.modelId).toBe(modelId);
      const [latest] = await s.runs.list({ limit: 1 });
      expect(latest.status).toBe('succeeded');
      expect((latest.metrics as { validation: { mae: number } }).validation.mae).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });

  it('with train.patience keeps the epoch (or the starting point) with the best validation MAE', async () => {
    // A large outer rate makes later epochs worse on validation, so stopping has work to do.
    const es = tinyConfig(
      'early.yaml',
      'train: { epochs: 4, patience: 1, pretrainEpochs: 0, outerLr: 0.05, metaBatchSize: 16, innerSteps: 1, maxRatings: 30 }',
    );
    const records: { msg: string; epoch?: number; validationScore?: number }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void records.push(JSON.parse(line)) });
    const lines: string[] = [];
    const outcome = await trainCommand(
      { ...store, config: es, promote: false },
      { out: (l: string) => lines.push(l), logger, progress: silentProgress },
    );
    const start = records.find((r) => r.msg === 'starting point validated')!;
    const epochs = records.filter((r) => r.msg === 'epoch validated');
    expect(epochs.length).toBeGreaterThanOrEqual(1);
    expect(epochs.length).toBeLessThanOrEqual(4);
    // Index 0 is the starting point, i the i-th epoch.
    const scores = [start, ...epochs].map((r) => r.validationScore!);
    const best = Math.min(...scores);
    const kept = records.find((r) => r.msg === 'kept the best epoch')!;
    expect(kept.validationScore).toBe(best);
    expect(kept.epoch).toBe(scores.indexOf(best));
    // Stopped one epoch after the best one, unless the last epoch was the best.
    expect(epochs.length).toBe(Math.min(4, scores.indexOf(best) + 1));
    // The score averages the validation users' MAE at full support and at their first 1 and 3
    // ratings; the registered and printed validation MAE is the kept model's at full support.
    const mae = Number(/validation MAE (\S+)/.exec(lines.join('\n'))![1]);
    expect(mae).toBeCloseTo((outcome.validation as { mae: number }).mae, 4);
    expect(mae).not.toBeCloseTo(best, 4);
  });

  it('with train.innerRidge meta-trains a ridge head and writes it as the serving default', async () => {
    const rc = tinyConfig(
      'ridge.yaml',
      'train: { algorithm: anil, bayesHead: false, innerRidge: 3, epochs: 1, metaBatchSize: 16, maxRatings: 30 }',
    );
    const lines: string[] = [];
    const res = await trainCommand(
      { ...store, config: rc, promote: false },
      { out: (l: string) => lines.push(l), logger: createLogger('silent'), progress: silentProgress },
    );
    const model = await loadModel(join(artifacts, res.modelId));
    try {
      expect(model.adaptDefaults.ridge).toBe(3);
      expect(model.training?.innerRidge).toBe(3);
      expect(res.validation.mae).toBeGreaterThan(0);
    } finally {
      model.dispose();
    }
  });

  it('marks an interrupted run cancelled and leaves no artifact and the promoted model untouched', async () => {
    const before = readdirSync(artifacts).filter((d) => !d.startsWith('.'));
    const s = await openFeatureStore(database);
    const promoted = (await s.registry.getPromoted())?.modelId;
    const controller = new AbortController();
    controller.abort();
    await expect(trainCommand({ ...store, config }, ctx([]), controller.signal)).rejects.toThrow();
    try {
      const [latest] = await s.runs.list({ limit: 1 });
      expect(latest.status).toBe('cancelled');
      expect((await s.registry.getPromoted())?.modelId).toBe(promoted);
      expect(readdirSync(artifacts).filter((d) => !d.startsWith('.'))).toEqual(before);
    } finally {
      await s.close();
    }
  });

  it('records a failed run with its error, promoted model untouched', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'train: { epochs: 1, minRatings: 1000 }\n');
    await expect(trainCommand({ ...store, config: bad }, ctx([]))).rejects.toThrow(
      /no user has >= 1000 ratings/,
    );
    const s = await openFeatureStore(database);
    try {
      const [latest] = await s.runs.list({ limit: 1 });
      expect(latest.status).toBe('failed');
      expect(latest.error).toMatch(/1000 ratings/);
    } finally {
      await s.close();
    }
  });

  it('refuses to run while another live process holds the lock, and runs once it expires', async () => {
    const s = await openFeatureStore(database);
    try {
      expect(await s.runs.acquireLock('train', 60_000, 'other-process')).not.toBeNull();
      await expect(trainCommand({ ...store, config }, ctx([]))).rejects.toBeInstanceOf(LockHeldError);
      // a crashed holder: its lease expires because nobody renews it
      await s.runs.releaseLock('train', 'other-process');
      expect(await s.runs.acquireLock('train', 1, 'crashed-process')).not.toBeNull();
      await new Promise((r) => setTimeout(r, 20));
      const lines: string[] = [];
      await trainCommand({ ...store, config, promote: true }, ctx(lines));
      expect(lines.join('\n')).toMatch(/registered m-\S+ .*promoted/);
    } finally {
      await s.close();
    }
  });

  it('checkpoints each epoch and --resume continues an interrupted run from its checkpoint', async () => {
    const controller = new AbortController();
    // Interrupt during the second epoch: the first epoch's checkpoint must be on disk.
    const progress = {
      start: () => ({
        update: (done: number) => {
          if (done > 3) controller.abort();
        },
        stop: () => undefined,
      }),
    };
    await expect(
      trainCommand({ ...store, config }, { ...ctx([]), progress }, controller.signal),
    ).rejects.toThrow(/interrupted/);
    const s = await openFeatureStore(database);
    try {
      const [cancelled] = await s.runs.list({ limit: 1 });
      expect(cancelled.status).toBe('cancelled');
      expect(cancelled.checkpoint).toBeTruthy();
      const lines: string[] = [];
      await run([
        'train',
        '--config',
        config,
        '--database',
        database,
        '--artifacts',
        artifacts,
        '--resume',
      ]).then((o) => lines.push(o));
      expect(lines.join('\n')).toMatch(/registered m-\S+/);
      const [resumed] = await s.runs.list({ limit: 1 });
      expect(resumed.status).toBe('succeeded');
      expect((resumed.config as { resumedFrom: string }).resumedFrom).toBe(cancelled.id);
      expect(lines.join('\n')).toContain(`resumed from run ${cancelled.id}`);
      // The resumed-from checkpoint is gone (and forgotten), and the run is never resumed twice.
      expect(existsSync(cancelled.checkpoint!)).toBe(false);
      expect(await s.runs.get(cancelled.id)).toMatchObject({ checkpoint: null });
      expect(resumed.checkpoint).toBeNull(); // succeeded: its own checkpoint is deleted and cleared
      const resumeArgs = ['train', '--config', config, '--database', database, '--artifacts', artifacts];
      await expect(run([...resumeArgs, '--resume'])).rejects.toThrow(
        /--resume: no interrupted training run with a checkpoint was found/,
      );
      await expect(run([...resumeArgs, '--resume', cancelled.id])).rejects.toThrow(
        `--resume: run ${cancelled.id} was already resumed by run ${resumed.id}`,
      );
      await expect(run([...resumeArgs, '--resume', resumed.id])).rejects.toThrow(
        /is succeeded; only failed or cancelled runs can be resumed/,
      );
      expect(await s.runs.list({ status: 'succeeded', limit: 1 })).toEqual([resumed]);
    } finally {
      await s.close();
    }
  });

  it('fails runs left running by a dead process (heartbeat lost) when train or the scheduler starts', async () => {
    // lockTtlSeconds 2: a running run without a heartbeat for 2 s belongs to a dead process
    const short = tinyConfig(
      'short-ttl.yaml',
      'train: { epochs: 1, metaBatchSize: 16, innerSteps: 1, maxRatings: 30 }\nschedule: { lockTtlSeconds: 2, heartbeatSeconds: 1 }',
    );
    const s = await openFeatureStore(database);
    try {
      const crashedA = await s.runs.start({ kind: 'train', config: {} });
      await new Promise((r) => setTimeout(r, 2100));
      const fresh = await s.runs.start({ kind: 'train', config: {} }); // heartbeat just now: alive
      // the scheduler, aborted at once, only does its start-up clean-up
      const aborted = new AbortController();
      aborted.abort();
      await scheduleCommand({ cron: '0 3 * * *', config: short, ...store }, ctx([]), aborted.signal);
      expect((await s.runs.get(crashedA.id))?.status).toBe('failed');
      expect((await s.runs.get(crashedA.id))?.error).toMatch(/heartbeat/);
      expect((await s.runs.get(fresh.id))?.status).toBe('running');
      await s.runs.cancel(fresh.id);

      const crashedB = await s.runs.start({ kind: 'train', config: {} });
      await new Promise((r) => setTimeout(r, 2100));
      await trainCommand({ ...store, config: short, promote: false }, ctx([]));
      const b = await s.runs.get(crashedB.id);
      expect(b?.status).toBe('failed');
      expect(b?.error).toMatch(/heartbeat/);
      expect(await s.runs.list({ status: 'running' })).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('stops and fails the run when another process takes the lease over', async () => {
    // long enough that the 1 s renewal comes while it still trains
    const long = tinyConfig(
      'long.yaml',
      'train: { epochs: 40, patience: 0, pretrainEpochs: 0, metaBatchSize: 16, innerSteps: 1, maxRatings: 30 }\nschedule: { lockTtlSeconds: 5, heartbeatSeconds: 1 }',
    );
    const before = readdirSync(artifacts).filter((d) => !d.startsWith('.'));
    const s = await openFeatureStore(database);
    let stolen: Promise<unknown> | undefined;
    const progress = {
      start: () => ({
        update: () => {
          // as if our lease had expired and another process acquired it
          stolen ??= s.runs
            .releaseLock('train', 'trainer-under-test')
            .then(() => s.runs.acquireLock('train', 60_000, 'other-process'));
        },
        stop: () => undefined,
      }),
    };
    try {
      await expect(
        trainCommand({ ...store, config: long, leaseOwner: 'trainer-under-test' }, { ...ctx([]), progress }),
      ).rejects.toThrow(/lost the "train" lease: another process holds it now/);
      expect(await stolen).not.toBeNull();
      const [latest] = await s.runs.list({ limit: 1 });
      expect(latest.status).toBe('failed');
      expect(latest.error).toMatch(/lost the "train" lease/);
      expect(readdirSync(artifacts).filter((d) => !d.startsWith('.'))).toEqual(before);
      // the other process still holds the lease
      await expect(trainCommand({ ...store, config }, ctx([]))).rejects.toBeInstanceOf(LockHeldError);
    } finally {
      await s.runs.releaseLock('train', 'other-process');
      await s.close();
    }
  });

  it('names a bad config key', async () => {
    const bad = join(dir, 'typo.yaml');
    writeFileSync(bad, 'train: { epoch: 1 }\n');
    await expect(run(['train', '--config', bad, '--database', database])).rejects.toThrow(
      /train\.epoch: unknown key/,
    );
  });
});
