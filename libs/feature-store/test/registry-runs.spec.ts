import { FailedPreconditionError, NotFoundError, openFeatureStore, type FeatureStore } from '../src';
import { backends, type TestDatabase } from './helpers/backends';
import { runTogether } from './helpers/children';

describe.each(backends)('registry, runs and locks on $name', ({ create }) => {
  let db: TestDatabase;
  let store: FeatureStore;
  beforeEach(async () => {
    db = create();
    store = await openFeatureStore(db.url);
  });
  afterEach(async () => {
    await store.close();
    await db.drop();
  });

  it('registers versions, promotes, and rolls back to the previous promotion', async () => {
    const reg = store.registry;
    const metrics = { validation: { mae: 0.8, rmse: 1.0, ndcg3: 0.7, p5: 0.6 } };
    const a = await reg.registerModel({
      modelId: 'm-a',
      algorithm: 'maml',
      artifactUri: 'm-a',
      metrics,
      runId: 'r1',
    });
    const b = await reg.registerModel({ modelId: 'm-b', algorithm: 'melu', artifactUri: 'm-b' });
    const c = await reg.registerModel({
      algorithm: 'reptile',
      artifactUri: 'x',
      dataWatermark: new Date('2020-01-01'),
    });
    expect([a.version, b.version, c.version]).toEqual([1, 2, 3]);
    expect(a).toMatchObject({ status: 'candidate', metrics, runId: 'r1', promotedAt: null });
    expect(c.modelId).toMatch(/^m-\d{8}-[0-9a-f]{6}$/);
    expect(await reg.getPromoted()).toBeNull();
    await expect(reg.rollback()).rejects.toBeInstanceOf(FailedPreconditionError);

    await reg.promote('m-a');
    await reg.promote('m-b');
    expect((await reg.getPromoted())?.modelId).toBe('m-b');
    expect((await reg.getModel('m-a'))?.status).toBe('retired');
    await reg.promote('m-b'); // idempotent

    expect((await reg.rollback()).modelId).toBe('m-a');
    expect((await reg.getModel('m-b'))?.status).toBe('retired');
    // m-b was rolled back from: it is not a rollback target; nothing earlier than m-a exists.
    await expect(reg.rollback()).rejects.toThrow('no earlier promoted model');
    await expect(reg.promote('nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(reg.registerModel({ modelId: 'm-a', algorithm: 'x', artifactUri: 'y' })).rejects.toThrow(
      'modelId: "m-a" is already registered',
    );
    await expect(
      reg.registerModel({ algorithm: 'x', artifactUri: 'y', metrics: { v: { mae: NaN } } }),
    ).rejects.toThrow('metrics.v.mae');

    const page1 = await reg.listModels({ limit: 2 });
    expect(page1.items.map((m) => m.version)).toEqual([3, 2]);
    const page2 = await reg.listModels({ limit: 2, cursor: page1.nextCursor });
    expect(page2.items.map((m) => m.version)).toEqual([1]);
    expect(page2.nextCursor).toBeNull();
    expect((await reg.listModels({ status: 'retired' })).items.map((m) => m.modelId)).toEqual(['m-b']);
  });

  it('allows at most one promoted row (database constraint)', async () => {
    await store.registry.registerModel({ modelId: 'p1', algorithm: 'maml', artifactUri: 'p1' });
    await store.registry.registerModel({ modelId: 'p2', algorithm: 'maml', artifactUri: 'p2' });
    await store.registry.promote('p1');
    await expect(
      store.prisma.modelVersion.update({ where: { modelId: 'p2' }, data: { status: 'promoted' } }),
    ).rejects.toThrow();
    expect((await store.registry.listModels({ status: 'promoted' })).items.map((m) => m.modelId)).toEqual([
      'p1',
    ]);
  });

  it('tracks a run through heartbeat, checkpoint and finish; refuses a second finish', async () => {
    const run = await store.runs.start({ config: { epochs: 3 } });
    expect(run.status).toBe('running');
    const beat = await store.runs.heartbeat(run.id, 'ckpt/epoch-1');
    expect(beat.checkpoint).toBe('ckpt/epoch-1');
    expect(beat.heartbeatAt.getTime()).toBeGreaterThanOrEqual(run.heartbeatAt.getTime());
    const done = await store.runs.finish(run.id, { mae: 0.9 });
    expect(done).toMatchObject({ status: 'succeeded', metrics: { mae: 0.9 }, config: { epochs: 3 } });
    // Nothing to resume once succeeded: the checkpoint fields are cleared.
    expect(done).toMatchObject({ checkpoint: null, checkpointAt: null });
    await expect(store.runs.fail(run.id, new Error('late'))).rejects.toThrow('already succeeded');
    const failed = await store.runs.start({ id: 'r2', config: {} });
    expect((await store.runs.fail(failed.id, new Error('out of memory'))).error).toBe('out of memory');
    const cancelled = await store.runs.start({ id: 'r3', config: {} });
    await store.runs.heartbeat('r3', 'ckpt/r3');
    await store.runs.cancel(cancelled.id);
    const r3 = await store.runs.heartbeat('r3');
    expect(r3).toMatchObject({ status: 'cancelled', checkpoint: 'ckpt/r3' }); // kept: resumable
    await store.runs.clearCheckpoint('r3');
    expect(await store.runs.get('r3')).toMatchObject({
      status: 'cancelled',
      checkpoint: null,
      checkpointAt: null,
    });
    await expect(store.runs.clearCheckpoint('missing')).rejects.toBeInstanceOf(NotFoundError);
    expect((await store.runs.list({ status: 'failed' })).map((r) => r.id)).toEqual(['r2']);
    await expect(store.runs.heartbeat('missing')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('fails runs whose heartbeat stopped', async () => {
    const run = await store.runs.start({ config: {} });
    await store.prisma.trainingRun.update({
      where: { id: run.id },
      data: { heartbeatAt: new Date(Date.now() - 60_000) },
    });
    expect(await store.runs.failStale(30_000)).toBe(1);
    expect((await store.runs.get(run.id))?.status).toBe('failed');
  });

  it('grants a lock to one owner at a time and lets it be taken over after expiry', async () => {
    const a = await store.runs.acquireLock('schedule', 60_000, 'A');
    expect(a?.owner).toBe('A');
    expect(await store.runs.acquireLock('schedule', 60_000, 'B')).toBeNull();
    expect(await store.runs.acquireLock('schedule', 60_000, 'A')).not.toBeNull(); // renew
    // expire A's lease
    await store.prisma.lock.update({
      where: { name: 'schedule' },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await store.runs.acquireLock('schedule', 60_000, 'B'))?.owner).toBe('B');
    expect(await store.runs.releaseLock('schedule', 'A')).toBe(false);
    expect(await store.runs.releaseLock('schedule', 'B')).toBe(true);
    const winners = await Promise.all(['X', 'Y', 'Z'].map((o) => store.runs.acquireLock('race', 60_000, o)));
    expect(winners.filter((w) => w !== null)).toHaveLength(1);
  });

  it('versions feature specs', async () => {
    const v1 = await store.featureSpecs.save('default', { user: [{ name: 'age', kind: 'numeric' }] });
    const same = await store.featureSpecs.save('default', { user: [{ name: 'age', kind: 'numeric' }] });
    const v2 = await store.featureSpecs.save('default', { user: [] });
    expect([v1.version, same.version, v2.version]).toEqual([1, 1, 2]);
    expect((await store.featureSpecs.latest('default'))?.spec).toEqual({ user: [] });
    expect((await store.featureSpecs.get('default', 1))?.spec).toEqual(v1.spec);
  });
});

/** Each racer promotes the models in a different rotation, so promotes of different versions overlap. */
const ROUNDS = 8;
const MODELS = ['c1', 'c2', 'c3'];
const rotation = (k: number) => Array.from({ length: ROUNDS }, (_, r) => MODELS[(r + k) % MODELS.length]);

async function registerRacers(store: FeatureStore): Promise<void> {
  for (const id of MODELS)
    await store.registry.registerModel({ modelId: id, algorithm: 'maml', artifactUri: id });
}

async function promotedRows(store: FeatureStore): Promise<string[]> {
  const rows = await store.prisma.modelVersion.findMany({ where: { status: 'promoted' } });
  return rows.map((r) => r.modelId);
}

describe.each(backends)('concurrent promotes on $name', ({ name, create }) => {
  it('leave exactly one promoted version; every promote succeeds', async () => {
    const db = create();
    const store = await openFeatureStore(db.url);
    try {
      await registerRacers(store);
      if (name === 'sqlite') {
        // separate processes: better-sqlite3 is synchronous, one process cannot overlap transactions
        const runs = await runTogether(
          'promote.ts',
          MODELS.map((_, k) => [db.url, JSON.stringify(rotation(k))]),
        );
        for (const r of runs) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
      } else {
        // separate clients (connection pools) on one schema, racing in the same event loop
        const racers = await Promise.all(MODELS.map(() => openFeatureStore(db.url, { migrate: false })));
        try {
          for (let r = 0; r < ROUNDS; r++) {
            await Promise.all(racers.map((s, k) => s.registry.promote(rotation(k)[r])));
            expect(await promotedRows(store)).toHaveLength(1);
          }
        } finally {
          await Promise.all(racers.map((s) => s.close()));
        }
      }
      const promoted = await promotedRows(store);
      expect(promoted).toHaveLength(1);
      expect((await store.registry.getPromoted())?.modelId).toBe(promoted[0]);
      const others = await store.registry.listModels({ status: 'retired' });
      expect(others.items.map((m) => m.modelId).sort()).toEqual(MODELS.filter((m) => m !== promoted[0]));
    } finally {
      await store.close();
      await db.drop();
    }
  }, 60_000);
});
