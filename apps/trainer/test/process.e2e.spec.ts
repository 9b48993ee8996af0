import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { openFeatureStore, type FeatureStore } from '@warmstart/feature-store';
import { syntheticImportArgs } from './support/run-cli';
import { MAIN, TrainerProcess, haveDist, pollUntil, runTrainer } from './support/trainer-process';

if (!haveDist)
  console.warn(
    `${MAIN} not found: the trainer process tests are skipped (build first: npx nx run-many -t build)`,
  );

// The pure-JS backend: tiny models train fastest on it and it needs no wasm binary.
const ENV = { WARMSTART_BACKEND: 'cpu' };
const TINY_MODEL = { embeddingDim: 4, hidden: [8] };
const LEASE = { lockTtlSeconds: 60, heartbeatSeconds: 5 };

function setup(prefix: string) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const database = path.join(dir, 'w.db');
  const artifacts = path.join(dir, 'models');
  const config = (name: string, train: Record<string, unknown>): string => {
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify({ model: TINY_MODEL, train, schedule: LEASE }));
    return file;
  };
  const store = ['--database', database, '--artifacts', artifacts];
  const importSynthetic = () => runTrainer(syntheticImportArgs(database, 60), ENV);
  return { dir, database, artifacts, config, store, importSynthetic };
}

async function withStore<T>(database: string, fn: (store: FeatureStore) => Promise<T>): Promise<T> {
  const store = await openFeatureStore(database);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

(haveDist ? describe : describe.skip)(
  'the built trainer as a process (node apps/trainer/dist/main.js)',
  () => {
    it('Ctrl-C during train: exits 130, run cancelled, nothing published, then --resume finishes from the checkpoint', async () => {
      const { dir, database, artifacts, config, store, importSynthetic } = setup('warmstart-train-sigint-');
      const children: TrainerProcess[] = [];
      try {
        await importSynthetic();
        // A promoted model first, so "the promoted model is untouched" means something.
        const first = await runTrainer(
          ['train', '--config', config('quick.json', { epochs: 1 }), ...store],
          ENV,
        );
        const m0 = /registered (m-\S+) .*promoted \(first model\)/.exec(first.stdout)?.[1];
        expect(m0).toBeDefined();
        const m0Manifest = readFileSync(path.join(artifacts, m0!, 'manifest.json'), 'utf8');

        // Long enough that it is still meta-training when interrupted (no early stopping).
        const long = config('long.json', { epochs: 40, patience: 0, metaBatchSize: 16 });
        const train = new TrainerProcess(['train', '--config', long, ...store], ENV);
        children.push(train);
        const started = await train.waitFor(
          (e) => e.msg === 'training run started',
          '"training run started"',
        );
        const runId = started['runId'] as string;
        // The non-TTY progress line of meta-training (done/total/etaSeconds, epoch, loss).
        await train.waitFor(
          (e) =>
            e['step'] === 'meta-train' && typeof e['done'] === 'number' && typeof e['epoch'] === 'number',
          'meta-train progress line',
        );
        // Interrupt once an epoch is checkpointed, so there is something to resume.
        const checkpoint = path.join(artifacts, '.checkpoints', runId);
        await pollUntil(
          () => existsSync(path.join(checkpoint, 'manifest.json')),
          `checkpoint ${checkpoint}`,
          () => train.output,
        );
        expect(train.child.kill('SIGINT')).toBe(true);

        expect(await train.exit()).toBe(130);
        expect(train.output).toMatch(/SIGINT: stopping at the next safe point/);
        // Stopped inside meta-training ("training interrupted") or at a check between its steps
        // (the abort reason, "interrupted by SIGINT"): both are the same safe stop.
        expect(train.output).toMatch(/cancelled: (training interrupted|interrupted by SIGINT)/);
        expect(
          train.entries.some(
            (e) => e.msg === 'training cancelled; resume with --resume' && e['runId'] === runId,
          ),
        ).toBe(true);
        expect(train.stdout).not.toMatch(/registered/);

        // Nothing published: only the first model and the checkpoints directory under the root.
        expect(readdirSync(artifacts).sort()).toEqual(['.checkpoints', m0].sort());
        expect(readFileSync(path.join(artifacts, m0!, 'manifest.json'), 'utf8')).toBe(m0Manifest);
        const epochsDone = Number(
          (
            JSON.parse(readFileSync(path.join(checkpoint, 'manifest.json'), 'utf8')) as {
              labels: Record<string, string>;
            }
          ).labels['epochsDone'],
        );
        expect(epochsDone).toBeGreaterThanOrEqual(1);
        expect(epochsDone).toBeLessThan(40);
        await withStore(database, async (s) => {
          const run = await s.runs.get(runId);
          expect(run?.status).toBe('cancelled');
          expect(run?.finishedAt).not.toBeNull();
          expect(run?.checkpoint).toBe(checkpoint);
          expect((await s.registry.listModels()).items.map((m) => m.modelId)).toEqual([m0]);
          expect(await s.registry.getPromoted()).toMatchObject({
            modelId: m0,
            version: 1,
            status: 'promoted',
          });
          expect(await s.runs.list({ status: 'running' })).toEqual([]);
        });

        // --resume continues the cancelled run from its checkpoint and finishes it.
        const resumed = await runTrainer(['train', '--resume', '--config', long, ...store], ENV, 45_000);
        expect(resumed.entries.find((e) => e.msg === 'resuming from checkpoint')).toMatchObject({
          from: runId,
          epochsDone,
        });
        const m1 = new RegExp(`registered (m-\\S+) .*; resumed from run ${runId}$`, 'm').exec(
          resumed.stdout,
        )?.[1];
        expect(m1).toBeDefined();
        expect(existsSync(path.join(artifacts, m1!, 'manifest.json'))).toBe(true);
        expect(existsSync(checkpoint)).toBe(false); // the resumed-from checkpoint is consumed
        await withStore(database, async (s) => {
          const [latest] = await s.runs.list({ limit: 1 });
          expect(latest?.status).toBe('succeeded');
          // its own per-epoch checkpoints were deleted on success
          if (latest?.checkpoint) expect(existsSync(latest.checkpoint)).toBe(false);
          expect((latest?.config as { resumedFrom?: string }).resumedFrom).toBe(runId);
          expect((await s.registry.getModel(m1!))?.runId).toBe(latest?.id);
          expect((await s.runs.get(runId))?.status).toBe('cancelled');
        });
        expect(readdirSync(path.join(artifacts, '.checkpoints'))).toEqual([]);
      } finally {
        for (const c of children) c.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);

    it('schedule: runs train every second under the lease (a second scheduler skips); SIGTERM mid-run cancels the run and exits 0', async () => {
      const { dir, database, artifacts, config, store, importSynthetic } = setup('warmstart-schedule-');
      const schedulers: TrainerProcess[] = [];
      try {
        await importSynthetic();
        // Ten epochs (a second or two): long enough to be signalled mid-run.
        const tiny = config('tiny.json', { epochs: 10, patience: 0, metaBatchSize: 16 });
        // croner: 6 fields, the first is seconds.
        for (let i = 0; i < 2; i++)
          schedulers.push(
            new TrainerProcess(['schedule', '--cron', '* * * * * *', '--config', tiny, ...store], ENV),
          );
        for (const s of schedulers)
          await s.waitFor((e) => e.msg === 'scheduler started', '"scheduler started"');

        const finished = await Promise.any(
          schedulers.map((s) =>
            s.waitFor((e) => e.msg === 'scheduled run finished', '"scheduled run finished"', 45_000),
          ),
        ).catch(() => {
          throw new Error(`no scheduled run finished:\n${schedulers.map((s) => s.output).join('\n')}`);
        });
        expect(finished['seconds']).toEqual(expect.any(Number));
        // The other scheduler's ticks during that run found the lease held and were skipped.
        await Promise.any(
          schedulers.map((s) =>
            s.waitFor(
              (e) =>
                typeof e.msg === 'string' &&
                e.msg.includes('lock "train" is held by another run; skipping this tick'),
              'skipped tick',
              20_000,
            ),
          ),
        ).catch(() => {
          throw new Error(
            `no tick was skipped for the lease:\n${schedulers.map((s) => s.output).join('\n')}`,
          );
        });

        // SIGTERM while a later run is meta-training: that run is cancelled, the schedulers exit 0.
        const inFlight = await Promise.any(
          schedulers.map((s) =>
            s
              .waitFor(
                (e) =>
                  e['step'] === 'meta-train' &&
                  e['done'] === 0 &&
                  Number(e['time']) > Number(finished['time']),
                'a later run meta-training',
                20_000,
              )
              .then(() => ({
                s,
                runId: [...s.entries].reverse().find((e) => e.msg === 'training run started')?.['runId'],
              })),
          ),
        ).catch(() => {
          throw new Error(
            `no later run started meta-training:\n${schedulers.map((s) => s.output).join('\n')}`,
          );
        });
        for (const s of schedulers) expect(s.child.kill('SIGTERM')).toBe(true);
        for (const s of schedulers) {
          expect(await s.exit()).toBe(0);
          expect(s.entries.some((e) => e.msg === 'scheduler stopped')).toBe(true);
          expect(s.entries.some((e) => e.msg === 'scheduled run failed (recorded in runs)')).toBe(false);
        }
        expect(inFlight.s.entries.some((e) => e.msg === 'scheduled run cancelled (recorded in runs)')).toBe(
          true,
        );

        await withStore(database, async (s) => {
          const runs = await s.runs.list({ limit: 500 });
          // a run in flight at SIGTERM is cancelled, never left running
          expect(runs.filter((r) => r.status === 'running')).toEqual([]);
          expect(runs.find((r) => r.id === inFlight.runId)?.status).toBe('cancelled');
          expect(runs.every((r) => r.status === 'succeeded' || r.status === 'cancelled')).toBe(true);
          const succeeded = runs.filter((r) => r.status === 'succeeded');
          expect(succeeded.length).toBeGreaterThanOrEqual(1);
          // one run at a time across both processes
          const spans = runs
            .map((r) => ({ start: r.startedAt.getTime(), end: r.finishedAt!.getTime() }))
            .sort((a, b) => a.start - b.start);
          for (let i = 1; i < spans.length; i++)
            expect(spans[i]!.start).toBeGreaterThanOrEqual(spans[i - 1]!.end);

          const promoted = await s.registry.getPromoted();
          expect(promoted).not.toBeNull();
          expect(succeeded.map((r) => r.id)).toContain(promoted!.runId);
          expect(existsSync(path.join(artifacts, promoted!.artifactUri, 'manifest.json'))).toBe(true);
          // every registered model comes from a succeeded run (a cancelled one registers nothing)
          const models = (await s.registry.listModels({ limit: 500 })).items;
          expect(models.length).toBe(succeeded.length);
        });
      } finally {
        for (const s of schedulers) s.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 90_000);
  },
);
