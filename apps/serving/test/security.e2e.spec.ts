import * as grpc from '@grpc/grpc-js';
import {
  FeatureStoreServiceClient,
  ModelRegistryServiceClient,
  RecommenderServiceClient,
  UpsertUsersRequest,
  type RecommendRequest,
} from '@warmstart/contracts';
import type { FeatureStore } from '@warmstart/feature-store';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { Writable } from 'node:stream';
import { findToken, parseTokenEntries } from '../src/auth/token-table';
import { call, codeOf, startHarness, tempStore, type Harness } from './support/harness';
import { rawUnary } from './support/raw-h2';
import { tokenEntry } from './support/tokens';
import { makeModel, seedWorld } from './support/world';

const TOKENS = {
  reader: 'reader-token-0123',
  writer: 'writer-token-4567',
  ops: 'ops-token-89ab',
};
const ENTRIES = [
  tokenEntry('reader', 'recommend', TOKENS.reader),
  tokenEntry('writer', 'recommend,ingest', TOKENS.writer),
  tokenEntry('ops', 'admin', TOKENS.ops),
];

const bearer = (token: string) => {
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  return md;
};

const inlineReq: RecommendRequest = {
  user: { userId: '', features: {}, support: [{ itemId: 'i1', value: 4 }] },
  k: 2,
  includeSeen: false,
};

/** A logger whose JSON lines are kept for the test to read. */
function capturedLog(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      }
      done();
    },
  });
  return { log: pino({ level }, sink), lines, raw };
}

async function world(): Promise<{ store: FeatureStore; dispose(): void }> {
  const t = await tempStore();
  await seedWorld(t.store);
  for (const id of ['m1', 'm2'])
    await t.store.registry.registerModel({ modelId: id, algorithm: 'melu', artifactUri: id });
  await t.store.registry.promote('m1');
  return t;
}

describe('security: scoped credentials', () => {
  let t: { store: FeatureStore; dispose(): void };
  beforeEach(async () => {
    t = await world();
  });
  afterEach(() => t.dispose());

  const models = { m1: () => makeModel(1), m2: () => makeModel(2) };
  const clients = (h: Harness) => ({
    promote: (token: string) =>
      call(
        h.registry,
        ModelRegistryServiceClient.prototype.promoteModel as never,
        { modelId: 'm2' },
        {},
        bearer(token),
      ),
    rollback: (token: string) =>
      call(h.registry, ModelRegistryServiceClient.prototype.rollbackModel as never, {}, {}, bearer(token)),
    retire: (token: string) =>
      call(
        h.featureStore,
        FeatureStoreServiceClient.prototype.upsertItems as never,
        { items: [{ id: 'i0', features: {}, status: 2 }] },
        {},
        bearer(token),
      ),
    wipe: (token: string) =>
      call(
        h.featureStore,
        FeatureStoreServiceClient.prototype.upsertUsers as never,
        { users: [{ id: 'u2', features: {} }] },
        {},
        bearer(token),
      ),
    recommend: (token: string) =>
      call(
        h.recommender,
        RecommenderServiceClient.prototype.recommend as never,
        inlineReq,
        {},
        bearer(token),
      ),
    getUsers: (token: string) =>
      call(
        h.featureStore,
        FeatureStoreServiceClient.prototype.getUsers as never,
        { ids: ['u2'] },
        {},
        bearer(token),
      ),
  });

  it('a recommend-only token gets PERMISSION_DENIED naming the scope for promote, rollback, retire and wiping features', async () => {
    const h = await startHarness(t.store, models, { authTokens: ENTRIES });
    try {
      const c = clients(h);
      const denied = async (p: Promise<unknown>, scope: string) => {
        const err = (await p.catch((e: unknown) => e)) as grpc.ServiceError;
        expect(err.code).toBe(grpc.status.PERMISSION_DENIED);
        expect(err.details).toContain(`needs the "${scope}" scope; reader has recommend`);
      };
      await denied(c.promote(TOKENS.reader), 'admin');
      await denied(c.rollback(TOKENS.reader), 'admin');
      await denied(c.retire(TOKENS.reader), 'ingest');
      await denied(c.wipe(TOKENS.reader), 'ingest');
      // Nothing changed: m1 still promoted and served, i0 active, u2 keeps its features.
      expect((await t.store.registry.getPromoted())?.modelId).toBe('m1');
      expect(h.server.context.models.current?.modelId).toBe('m1');
      expect((await t.store.getItems(['i0'])).get('i0')?.status).toBe('active');
      expect((await t.store.getUsers(['u2'])).get('u2')?.features).toEqual({ gender: 'F', age: 22 });
      // Within its scope the reader is served; ingest and admin tokens do their part only.
      expect(await codeOf(c.recommend(TOKENS.reader))).toBe('OK');
      expect(await codeOf(c.getUsers(TOKENS.reader))).toBe('OK');
      await expect(codeOf(c.promote(TOKENS.writer))).resolves.toBe('PERMISSION_DENIED');
      expect(await codeOf(c.recommend(TOKENS.ops))).toBe('PERMISSION_DENIED');
      expect(await codeOf(c.wipe(TOKENS.writer))).toBe('OK');
      expect(await codeOf(c.promote(TOKENS.ops))).toBe('OK');
      expect(h.server.context.models.current?.modelId).toBe('m2');
    } finally {
      await h.close();
    }
  });

  it('reads tokens from --auth-tokens-file and again on reload (SIGHUP); a bad file keeps the tokens in force', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'warmstart-tokens-'));
    const file = path.join(dir, 'tokens');
    writeFileSync(file, `# name:scopes:sha256\n${tokenEntry('old', 'recommend', 'old-token')}\n`);
    const h = await startHarness(t.store, models, { authTokensFile: file });
    try {
      const c = clients(h);
      expect(await codeOf(c.recommend('old-token'))).toBe('OK');
      expect(await codeOf(c.recommend('new-token'))).toBe('UNAUTHENTICATED');
      writeFileSync(file, `${tokenEntry('new', 'recommend', 'new-token')}\n`);
      expect(h.server.reloadCredentials()).toBe(1);
      expect(await codeOf(c.recommend('old-token'))).toBe('UNAUTHENTICATED');
      expect(await codeOf(c.recommend('new-token'))).toBe('OK');
      writeFileSync(file, 'new:recommend:new-token\n');
      expect(() => h.server.reloadCredentials()).toThrow(/line 1: the third field must be the SHA-256/);
      expect(await codeOf(c.recommend('new-token'))).toBe('OK');
      // An empty file turns auth on with no token accepted.
      writeFileSync(file, '');
      expect(h.server.reloadCredentials()).toBe(0);
      expect(await codeOf(c.recommend('new-token'))).toBe('UNAUTHENTICATED');
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compares every token entry in constant time, whichever one matches', () => {
    const entries = parseTokenEntries(
      Array.from({ length: 5 }, (_, i) => tokenEntry(`t${i}`, 'recommend', `token-${i}`)).join('\n'),
      'test',
    );
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const spy = jest.spyOn(require('node:crypto') as typeof import('node:crypto'), 'timingSafeEqual');
    try {
      expect(findToken(entries, 'token-0')?.name).toBe('t0');
      expect(spy).toHaveBeenCalledTimes(5);
      spy.mockClear();
      expect(findToken(entries, 'token-x')).toBeUndefined();
      expect(spy).toHaveBeenCalledTimes(5);
      // Digests of equal length whatever the token's length: no length shortcut.
      for (const [a, b] of spy.mock.calls) expect([a.byteLength, b.byteLength]).toEqual([32, 32]);
    } finally {
      spy.mockRestore();
    }
  });

  it('refuses a call with two authorization headers instead of letting the first one win', async () => {
    const h = await startHarness(t.store, models, { authTokens: ENTRIES });
    try {
      const body = Buffer.from(UpsertUsersRequest.encode({ users: [{ id: 'u2', features: {} }] }).finish());
      for (const order of [
        [TOKENS.writer, 'not-a-token'],
        ['not-a-token', TOKENS.writer],
        [TOKENS.writer, TOKENS.writer],
      ]) {
        const reply = await rawUnary(
          h.server.port,
          '/warmstart.v1.FeatureStoreService/UpsertUsers',
          order.map((tok) => ['authorization', `Bearer ${tok}`] as [string, string]),
          body,
        );
        expect(reply).toEqual({ gotData: false, ended: true });
      }
      const refused = (await h.server.context.metrics.requests.get()).values.find(
        (v) => v.labels.method === 'FeatureStoreService/UpsertUsers' && v.labels.code === 'UNAUTHENTICATED',
      );
      expect(refused?.value).toBe(3);
      expect((await t.store.getUsers(['u2'])).get('u2')?.features).toEqual({ gender: 'F', age: 22 });
      // One header with the same token is served (the raw client itself works).
      const ok = await rawUnary(
        h.server.port,
        '/warmstart.v1.FeatureStoreService/UpsertUsers',
        [['authorization', `Bearer ${TOKENS.writer}`]],
        body,
      );
      expect(ok).toEqual({ gotData: true, ended: true });
      expect((await t.store.getUsers(['u2'])).get('u2')?.features).toEqual({});
    } finally {
      await h.close();
    }
  });

  it('checks credentials before decoding the request body', async () => {
    const h = await startHarness(t.store, models, { authTokens: ENTRIES });
    const decode = jest.spyOn(UpsertUsersRequest, 'decode');
    try {
      const rawCall = (path: string, bytes: Buffer, md: grpc.Metadata) =>
        new Promise<grpc.ServiceError | null>((resolve) =>
          h.featureStore.makeUnaryRequest(
            path,
            (b: Buffer) => b,
            (b: Buffer) => b,
            bytes,
            md,
            (err) => resolve(err),
          ),
        );
      // Malformed bytes without a token: UNAUTHENTICATED (decoding first answered INTERNAL).
      const err = await rawCall(
        '/warmstart.v1.FeatureStoreService/GetUsers',
        Buffer.from('ff', 'hex'),
        new grpc.Metadata(),
      );
      expect(err?.code).toBe(grpc.status.UNAUTHENTICATED);
      // Ten large unauthenticated UpsertUsers calls: none is decoded.
      const big = Buffer.from(
        UpsertUsersRequest.encode({
          users: Array.from({ length: 1000 }, (_, i) => ({
            id: `x${i}`,
            features: { f: { kind: { $case: 'categorical' as const, value: 'v'.repeat(1000) } } },
          })),
        }).finish(),
      );
      expect(big.length).toBeGreaterThan(1_000_000);
      for (let i = 0; i < 10; i++) {
        const e = await rawCall('/warmstart.v1.FeatureStoreService/UpsertUsers', big, bearer('wrong'));
        expect(e?.code).toBe(grpc.status.UNAUTHENTICATED);
      }
      const denied = await rawCall(
        '/warmstart.v1.FeatureStoreService/UpsertUsers',
        big,
        bearer(TOKENS.reader),
      );
      expect(denied?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(decode).not.toHaveBeenCalled();
      // The same bytes with an ingest token are decoded and written.
      expect(
        await rawCall('/warmstart.v1.FeatureStoreService/UpsertUsers', big, bearer(TOKENS.writer)),
      ).toBeNull();
      expect(decode).toHaveBeenCalledTimes(1);
    } finally {
      decode.mockRestore();
      await h.close();
    }
  });

  it('writes one audit line per admin and ingest call: principal, RPC, status and counts, never tokens or feature values', async () => {
    const { log, lines, raw } = capturedLog('warn');
    const h = await startHarness(t.store, models, { authTokens: ENTRIES }, { log });
    try {
      const c = clients(h);
      await call(
        h.featureStore,
        FeatureStoreServiceClient.prototype.upsertUsers as never,
        {
          users: [
            { id: 'u9', features: { gender: { kind: { $case: 'categorical', value: 'SECRET-VALUE' } } } },
          ],
        },
        {},
        bearer(TOKENS.writer),
      );
      await call(
        h.featureStore,
        FeatureStoreServiceClient.prototype.ingestInteractions as never,
        {
          interactions: [
            {
              eventId: 'a1',
              userId: 'u9',
              itemId: 'i1',
              value: 4,
              kind: 1,
              eventTime: { seconds: 1e9, nanos: 0 },
            },
            {
              eventId: 'a1',
              userId: 'u9',
              itemId: 'i1',
              value: 4,
              kind: 1,
              eventTime: { seconds: 1e9, nanos: 0 },
            },
          ],
        },
        {},
        bearer(TOKENS.writer),
      ).catch(() => undefined);
      await c.promote(TOKENS.ops);
      await c.promote(TOKENS.reader).catch(() => undefined);
      await c.recommend(TOKENS.reader);
      await c.promote('no-such-token').catch(() => undefined);
      const audit = lines.filter((l) => l['msg'] === 'audit');
      expect(audit.map((l) => [l['principal'], l['rpc'], l['status']])).toEqual([
        ['writer', 'FeatureStoreService/UpsertUsers', 'OK'],
        ['writer', 'FeatureStoreService/IngestInteractions', expect.any(String)],
        ['ops', 'ModelRegistryService/PromoteModel', 'OK'],
        ['reader', 'ModelRegistryService/PromoteModel', 'PERMISSION_DENIED'],
        ['unauthenticated', 'ModelRegistryService/PromoteModel', 'UNAUTHENTICATED'],
      ]);
      expect(audit[0]).toMatchObject({ rows: 1, upserted: 1 });
      expect(audit[1]).toMatchObject({ rows: 2 });
      expect(audit[2]).toMatchObject({ requested: 'm2', model: 'm2@2', previous: 'm1@1' });
      const text = raw.join('\n');
      expect(text).not.toContain('SECRET-VALUE');
      for (const token of Object.values(TOKENS)) expect(text).not.toContain(token);
    } finally {
      await h.close();
    }
  });

  it('warns at start-up when gRPC listens beyond loopback with auth off', async () => {
    const open = capturedLog();
    const h1 = await startHarness(t.store, models, { host: '0.0.0.0' }, { log: open.log });
    await h1.close();
    const warning = (l: Record<string, unknown>) =>
      l['level'] === 40 && String(l['msg']).includes('gRPC listens beyond loopback with auth off');
    expect(open.lines.filter(warning)).toHaveLength(1);
    const t2 = await world();
    const closed = capturedLog();
    const h2 = await startHarness(
      t2.store,
      models,
      { host: '0.0.0.0', authTokens: ENTRIES },
      { log: closed.log },
    );
    await h2.close();
    t2.dispose();
    expect(closed.lines.filter(warning)).toHaveLength(0);
  });
});
