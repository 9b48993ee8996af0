import { configFromArgs } from '../src/config/config';

describe('configuration', () => {
  it('uses the documented defaults', () => {
    const c = configFromArgs([], {});
    expect(c).toMatchObject({
      port: 50051,
      database: './data/warmstart.db',
      artifacts: './models',
      authTokens: [],
    });
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
