import { configFromArgs } from '../src/config/config';

describe('configuration', () => {
  it('uses the documented defaults', () => {
    const c = configFromArgs([], {});
    expect(c).toMatchObject({
      port: 50051,
      database: './data/warmstart.db',
      artifacts: './models',
      authTokens: [],
      workers: 1,
      cacheBytes: 256 * 1024 * 1024,
      freshnessMs: 1000,
    });
  });

  it('reads --workers, --cache-bytes and --freshness-ms (flags and environment)', () => {
    const c = configFromArgs(['--workers', '2', '--freshness-ms', '0'], { WARMSTART_CACHE_BYTES: '1048576' });
    expect(c).toMatchObject({ workers: 2, freshnessMs: 0, cacheBytes: 1048576 });
    expect(() => configFromArgs(['--workers', '0'], {})).toThrow(/--workers/);
    expect(() => configFromArgs([], { WARMSTART_FRESHNESS_MS: '-5' })).toThrow(/--freshness-ms/);
  });

  it('reads WARMSTART_* variables and lets flags win', () => {
    const env = { WARMSTART_PORT: '6000', WARMSTART_DATABASE: 'env.db', WARMSTART_AUTH_TOKENS: 'a, b' };
    const c = configFromArgs(['--port', '7000', '--batch-max-size', '1'], env);
    expect(c).toMatchObject({ port: 7000, database: 'env.db', authTokens: ['a', 'b'], batchMaxSize: 1 });
  });

  it('names the setting in validation errors', () => {
    expect(() => configFromArgs(['--port', '70000'], {})).toThrow(/--port/);
    expect(() => configFromArgs([], { WARMSTART_CACHE_SIZE: '-1' })).toThrow(/--cache-size/);
    expect(() => configFromArgs(['--tls-cert', 'c.pem'], {})).toThrow(/--tls-key/);
  });

  it('rejects unknown flags', () => {
    expect(() => configFromArgs(['--bogus', '1'], {})).toThrow(/bogus/);
  });
});
