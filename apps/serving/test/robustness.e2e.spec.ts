import * as grpc from '@grpc/grpc-js';
import {
  FeatureStoreServiceClient,
  type GetUsersResponse,
  type ListNewItemsResponse,
} from '@warmstart/contracts';
import type { FeatureStore } from '@warmstart/feature-store';
import pino from 'pino';
import { Writable } from 'node:stream';
import { call, startHarness, tempStore, type Harness } from './support/harness';
import { makeModel, seedWorld } from './support/world';

/** Protobuf wire encoding, enough to write what the generated encoders refuse to (int64 beyond 2^53). */
const varint = (v: bigint): number[] => {
  let x = BigInt.asUintN(64, v);
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return out;
};
const field = (no: number, bytes: Buffer | number[]): Buffer => {
  const b = Buffer.from(bytes);
  return Buffer.concat([Buffer.from([(no << 3) | 2, ...varint(BigInt(b.length))]), b]);
};
const str = (no: number, s: string) => field(no, Buffer.from(s));
const seconds = (v: bigint) => Buffer.from([0x08, ...varint(v)]);

const TWO_63 = -(2n ** 63n);

async function world(): Promise<{ store: FeatureStore; dispose(): void }> {
  const t = await tempStore();
  await seedWorld(t.store);
  await t.store.registry.registerModel({ modelId: 'm1', algorithm: 'melu', artifactUri: 'm1' });
  await t.store.registry.promote('m1');
  return t;
}

/** A unary call with the request given as raw bytes; resolves with the error (null on success). */
function rawCall(h: Harness, path: string, bytes: Buffer): Promise<grpc.ServiceError | null> {
  return new Promise((resolve) =>
    h.featureStore.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new grpc.Metadata(),
      (err) => resolve(err),
    ),
  );
}

const FS = '/warmstart.v1.FeatureStoreService';
const REC = '/warmstart.v1.RecommenderService';

describe('robustness: bounded work per request, status codes and messages', () => {
  let t: { store: FeatureStore; dispose(): void };
  let h: Harness;
  const lines: string[] = [];
  beforeAll(async () => {
    t = await world();
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    h = await startHarness(
      t.store,
      { m1: () => makeModel(1) },
      { maxMessageBytes: 256 * 1024 },
      { log: pino({ level: 'info' }, sink) },
    );
  });
  afterAll(async () => {
    await h.close();
    t.dispose();
  });

  const getUsers = (ids: string[]) =>
    call<{ ids: string[] }, GetUsersResponse>(
      h.featureStore,
      FeatureStoreServiceClient.prototype.getUsers as never,
      {
        ids,
      },
    );

  it('GetUsers answers an id asked for 300 times once, and refuses a reply above the limit before building it', async () => {
    // A user holding ~100 KB of features (written straight to the store, as an import could).
    const heavy = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, 'x'.repeat(1000)]));
    await t.store.upsertUsers([
      { id: 'heavy1', features: heavy },
      { id: 'heavy2', features: heavy },
      { id: 'heavy3', features: heavy },
    ]);
    const once = await getUsers(Array.from({ length: 300 }, () => 'heavy1'));
    expect(once.users.map((u) => u.id)).toEqual(['heavy1']);
    expect(once.missingIds).toEqual([]);
    const dup = await getUsers(['u1', 'nope', 'u1', 'nope']);
    expect(dup.users.map((u) => u.id)).toEqual(['u1']);
    expect(dup.missingIds).toEqual(['nope']);
    // Three heavy users pass the 256 KiB send limit: refused with a reason, not built.
    const err = (await getUsers(['heavy1', 'heavy2', 'heavy3']).catch(
      (e: unknown) => e,
    )) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.details).toMatch(
      /the reply would pass --max-message-bytes \(262144 bytes\).*ask for fewer ids/,
    );
  });

  it('bounds feature names, values and counts per entity, naming the field in a short message', async () => {
    const upsert = (features: Record<string, unknown>) =>
      call(h.featureStore, FeatureStoreServiceClient.prototype.upsertUsers as never, {
        users: [{ id: 'b1', features }],
      }).catch((e: grpc.ServiceError) => e);
    const cat = (value: string) => ({ kind: { $case: 'categorical', value } });
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [
        { ['n'.repeat(100_000)]: cat('a') },
        /^users\[0\]\.features: feature name "n{200}"… \(100000 characters\) is 100000 characters; at most 128/,
      ],
      [
        { genre: cat('v'.repeat(5000)) },
        /^users\[0\]\.features\["genre"\]: value of 5000 characters; at most 1024/,
      ],
      [
        {
          tags: {
            kind: { $case: 'multiCategorical', value: { values: Array.from({ length: 300 }, () => 'a') } },
          },
        },
        /^users\[0\]\.features\["tags"\]: holds 300 values; at most 256/,
      ],
      [
        { tags: { kind: { $case: 'multiCategorical', value: { values: ['ok', 'w'.repeat(2000)] } } } },
        /^users\[0\]\.features\["tags"\]\.values\[1\]: value of 2000 characters/,
      ],
      [
        Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, cat('y'.repeat(1000))])),
        /^users\[0\]\.features: features of \d+ characters in all .*at most 65536/,
      ],
      [
        Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`f${i}`, cat('y')])),
        /holds 300 features; at most 256/,
      ],
    ];
    for (const [features, message] of cases) {
      const err = (await upsert(features)) as grpc.ServiceError;
      expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(err.details).toMatch(message);
      expect(err.details.length).toBeLessThan(400);
    }
    expect((await t.store.getUsers(['b1'])).size).toBe(0);
  });

  it('quotes at most ~200 characters of a bad name in the status and in the log line', async () => {
    // A 10 KB feature name with no value set once produced a 23 KB message ("metadata size exceeds limit").
    const err = (await call(h.featureStore, FeatureStoreServiceClient.prototype.upsertItems as never, {
      items: [{ id: 'i1', features: { ['q'.repeat(10_000)]: {} }, status: 0 }],
    }).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^items\[0\]\.features: feature name "q+"… \(10000 characters\)/);
    expect(err.details.length).toBeLessThan(400);
    const logged = lines.filter((l) => l.includes('UpsertItems') && l.includes('INVALID_ARGUMENT'));
    expect(logged.length).toBeGreaterThan(0);
    for (const l of logged) expect(l.length).toBeLessThan(1000);
  });

  it('answers Timestamps beyond ±2^53 s (and -2^63) with INVALID_ARGUMENT naming the field', async () => {
    const interaction = (eventTime: Buffer) =>
      Buffer.concat([
        str(1, 'e1'),
        str(2, 'u1'),
        str(3, 'i1'),
        Buffer.from([0x28, 0x01]),
        field(6, eventTime),
      ]);
    const cases: Array<[string, Buffer, string]> = [
      // The bytes of the report: ListNewItems{since{seconds: 2^62}}.
      [`${FS}/ListNewItems`, Buffer.from('0a09088080808080808010', 'hex'), 'since.seconds'],
      [
        `${FS}/IngestInteractions`,
        field(1, interaction(seconds(TWO_63))),
        'interactions[0].event_time.seconds',
      ],
      [
        `${FS}/UpsertUsers`,
        field(1, Buffer.concat([str(1, 'u1'), field(3, seconds(2n ** 60n))])),
        'users[0].created_at.seconds',
      ],
      [
        `${FS}/UpsertItems`,
        Buffer.concat([
          field(1, str(1, 'i1')),
          field(1, Buffer.concat([str(1, 'i2'), field(3, seconds(TWO_63))])),
        ]),
        'items[1].available_at.seconds',
      ],
      [
        `${REC}/Recommend`,
        Buffer.concat([
          field(
            1,
            Buffer.concat([
              field(3, str(1, 'i1')),
              field(3, Buffer.concat([str(1, 'i2'), field(3, seconds(TWO_63))])),
            ]),
          ),
          Buffer.from([0x18, 0x05]),
        ]),
        'user.support[1].event_time.seconds',
      ],
      [
        `${REC}/Score`,
        field(1, field(3, Buffer.concat([str(1, 'i2'), field(3, seconds(2n ** 53n + 1n))]))),
        'user.support[0].event_time.seconds',
      ],
    ];
    for (const [path, bytes, name] of cases) {
      const err = await rawCall(h, path, bytes);
      expect([path, err?.code]).toEqual([path, grpc.status.INVALID_ARGUMENT]);
      expect(err?.details.startsWith(`${name}: `)).toBe(true);
    }
    // Within ±2^53 but outside google.protobuf.Timestamp's range (years 1-9999).
    const far = await rawCall(h, `${FS}/ListNewItems`, field(1, seconds(2n ** 50n)));
    expect(far?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(far?.details).toMatch(/^since\.seconds: must be between/);
  });

  it('answers malformed bytes with INVALID_ARGUMENT, never INTERNAL or UNKNOWN', async () => {
    for (const [path, hex] of [
      [`${FS}/GetUsers`, 'ff'],
      [`${FS}/GetUsers`, '0a0531'],
      [`${FS}/UpsertUsers`, '0a03ffffff'],
      [`${REC}/Recommend`, '0a'],
      [`${REC}/Recommend`, '1206' + '0a04' + '0a0531'],
      ['/warmstart.v1.ModelRegistryService/ListModels', '0f'],
    ] as const) {
      const err = await rawCall(h, path, Buffer.from(hex, 'hex'));
      expect([path, hex, err?.code]).toEqual([path, hex, grpc.status.INVALID_ARGUMENT]);
      expect(err?.details).toMatch(/malformed protobuf|not a valid protobuf/);
    }
    const truncated = await rawCall(h, `${FS}/GetUsers`, Buffer.from('0a0531', 'hex'));
    expect(truncated?.details).toMatch(/^request: malformed protobuf \(length runs past the end/);
    const internal = (await h.server.context.metrics.requests.get()).values.filter(
      (v) => v.labels.code === 'INTERNAL' || v.labels.code === 'UNKNOWN',
    );
    expect(internal).toEqual([]);
  });

  it('names page.page_token for a bad page token', async () => {
    const err = (await call<unknown, ListNewItemsResponse>(
      h.featureStore,
      FeatureStoreServiceClient.prototype.listNewItems as never,
      { since: { seconds: 0, nanos: 0 }, page: { pageSize: 10, pageToken: 'not-a-token' } },
    ).catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^page\.page_token: /);
  });
});
