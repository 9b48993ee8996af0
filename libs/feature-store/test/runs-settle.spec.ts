import { FailedPreconditionError, openFeatureStore, type FeatureStore } from '../src';
import { backends, type TestDatabase } from './helpers/backends';

describe.each(backends)('runs.settle and settleOrphaned on $name', ({ create }) => {
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

  it('records a run that promoted its model succeeded, one that only registered a model failed naming it', async () => {
    const promoting = await store.runs.start({ kind: 'train', config: {} });
    await store.registry.registerModel({
      modelId: 'm-p',
      algorithm: 'anil',
      artifactUri: 'm-p',
      runId: promoting.id,
    });
    await store.registry.promote('m-p');
    const registering = await store.runs.start({ kind: 'train', config: {} });
    await store.registry.registerModel({
      modelId: 'm-c',
      algorithm: 'anil',
      artifactUri: 'm-c',
      runId: registering.id,
    });
    const plain = await store.runs.start({ kind: 'train', config: {} });
    const evaluation = await store.runs.start({ kind: 'evaluate', config: {} });

    const settled = await store.runs.settleOrphaned('train', 'process stopped');
    expect(settled.map((r) => r.id).sort()).toEqual([promoting.id, registering.id, plain.id].sort());
    expect(await store.runs.get(promoting.id)).toMatchObject({
      status: 'succeeded',
      metrics: { modelId: 'm-p', promoted: true, recordedAfter: 'process stopped' },
    });
    expect(await store.runs.get(registering.id)).toMatchObject({
      status: 'failed',
      error: 'process stopped (after registering m-c, not promoted)',
    });
    expect(await store.runs.get(plain.id)).toMatchObject({ status: 'failed', error: 'process stopped' });
    // Other kinds are left alone; ended runs are not changed again.
    expect((await store.runs.get(evaluation.id))?.status).toBe('running');
    expect(await store.runs.settleOrphaned('train', 'again')).toEqual([]);
    await expect(store.runs.settle(plain.id, 'again')).rejects.toBeInstanceOf(FailedPreconditionError);
  });
});
