import {
  DEFAULT_PROFILE,
  openFeatureStore,
  ValidationError,
  type DatasetProfile,
  type FeatureStore,
} from '../src';
import { backends, type TestDatabase } from './helpers/backends';

const at = new Date('2021-01-01T00:00:00Z');

describe.each(backends)('dataset profile on $name', ({ create }) => {
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

  it('defaults to explicit 1..5 with times, persists a declared profile, and validates it', async () => {
    expect(await store.datasetProfile()).toEqual(DEFAULT_PROFILE);
    expect(DEFAULT_PROFILE).toEqual({ kind: 'explicit', scale: [1, 5], hasTimes: true });
    const declared: DatasetProfile = { kind: 'explicit', scale: [0.5, 4], hasTimes: false };
    await store.setDatasetProfile(declared);
    expect(await store.datasetProfile()).toEqual(declared);
    const reopened = await openFeatureStore(db.url);
    try {
      expect(await reopened.datasetProfile()).toEqual(declared);
      expect(reopened.ratingRange).toEqual([0.5, 4]); // read at open
    } finally {
      await reopened.close();
    }
    await store.setDatasetProfile({ kind: 'implicit', scale: null, hasTimes: true });
    expect(await store.datasetProfile()).toEqual({ kind: 'implicit', scale: null, hasTimes: true });

    const bad = async (p: unknown) =>
      store.setDatasetProfile(p as DatasetProfile).then(
        () => null,
        (e: unknown) => e as ValidationError,
      );
    expect(await bad({ kind: 'ratings', scale: [1, 5], hasTimes: true })).toMatchObject({
      name: 'ValidationError',
      field: 'profile.kind',
    });
    expect(await bad({ kind: 'explicit', scale: [5, 1], hasTimes: true })).toMatchObject({
      field: 'profile.scale',
    });
    expect(await bad({ kind: 'explicit', scale: null, hasTimes: true })).toMatchObject({
      field: 'profile.scale',
    });
    expect(await bad({ kind: 'implicit', scale: [1, 5], hasTimes: true })).toMatchObject({
      field: 'profile.scale',
    });
    expect(await bad({ kind: 'implicit', scale: null, hasTimes: 'no' })).toMatchObject({
      field: 'profile.hasTimes',
    });
    expect(await bad({ kind: 'implicit', scale: null, hasTimes: true, name: '' })).toMatchObject({
      field: 'profile.name',
    });
    expect(await bad({ kind: 'implicit', scale: null, hasTimes: true, name: 'x'.repeat(201) })).toMatchObject(
      {
        field: 'profile.name',
      },
    );
    // A name (the report label an import records) round-trips.
    const named: DatasetProfile = { kind: 'implicit', scale: null, hasTimes: true, name: 'shop-plays' };
    await store.setDatasetProfile(named);
    expect(await store.datasetProfile()).toEqual(named);
  });

  it('the declared scale is the rating range the write API accepts', async () => {
    await store.upsertItems([{ id: 'i', features: {} }]);
    const rating = (value: number, id: string) => ({
      eventId: id,
      userId: 'u',
      itemId: 'i',
      value,
      kind: 'rating' as const,
      eventTime: at,
    });
    await expect(store.ingestInteractions([rating(0.5, 'a')])).rejects.toThrow(
      'interactions[0].value: rating 0.5 is outside 1..5',
    );
    await store.setDatasetProfile({ kind: 'explicit', scale: [0.5, 4], hasTimes: true });
    expect(store.ratingRange).toEqual([0.5, 4]);
    expect(await store.ingestInteractions([rating(0.5, 'a')])).toEqual({ ingested: 1, duplicates: 0 });
    await expect(store.ingestInteractions([rating(5, 'b')])).rejects.toThrow(
      'interactions[0].value: rating 5 is outside 0.5..4',
    );
    // an explicit ratingRange option still wins
    const fixed = await openFeatureStore(db.url, { ratingRange: [1, 10] });
    try {
      expect(fixed.ratingRange).toEqual([1, 10]);
    } finally {
      await fixed.close();
    }
  });

  it('without a declared profile, a store whose newest interaction is implicit reports implicit', async () => {
    await store.upsertItems([{ id: 'i', features: {} }]);
    await store.ingestInteractions([
      { eventId: 'e', userId: 'u', itemId: 'i', value: 1, kind: 'implicit', eventTime: at },
    ]);
    expect(await store.datasetProfile()).toEqual({ kind: 'implicit', scale: null, hasTimes: true });
  });
});
