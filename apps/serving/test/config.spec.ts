import { DEFAULT_MAX_IN_FLIGHT, configFromArgs } from '../src/config/config';
import { tokenEntry } from './support/tokens';

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
      storeCacheSize: 10_000,
      freshnessMs: 1000,
      writeCoalesceMs: 100,
      shortlistSize: 2000,
      shortlistFraction: 0.01,
      metricsHost: '127.0.0.1',
      maxInFlight: DEFAULT_MAX_IN_FLIGHT,
      maxMessageBytes: 4 * 1024 * 1024,
    });
  });

  it('reads --workers, --cache-bytes and --freshness-ms (flags and environment)', () => {
    const c = configFromArgs(['--workers', '2', '--freshness-ms', '0'], { WARMSTART_CACHE_BYTES: '1048576' });
    expect(c).toMatchObject({ workers: 2, freshnessMs: 0, cacheBytes: 1048576 });
    expect(() => configFromArgs(['--workers', '0'], {})).toThrow(/--workers/);
    expect(() => configFromArgs([], { WARMSTART_FRESHNESS_MS: '-5' })).toThrow(/--freshness-ms/);
  });

  it('reads --write-coalesce-ms and --shortlist-fraction (a fraction in 0..1)', () => {
    const c = configFromArgs(['--write-coalesce-ms', '0'], { WARMSTART_SHORTLIST_FRACTION: '0.05' });
    expect(c).toMatchObject({ writeCoalesceMs: 0, shortlistFraction: 0.05 });
    expect(() => configFromArgs(['--shortlist-fraction', '1.5'], {})).toThrow(/--shortlist-fraction/);
    expect(() => configFromArgs(['--write-coalesce-ms', '-1'], {})).toThrow(/--write-coalesce-ms/);
  });

  it('reads --store-cache-size (at least one entry)', () => {
    expect(configFromArgs(['--store-cache-size', '500'], {}).storeCacheSize).toBe(500);
    expect(configFromArgs([], { WARMSTART_STORE_CACHE_SIZE: '2000' }).storeCacheSize).toBe(2000);
    expect(() => configFromArgs(['--store-cache-size', '0'], {})).toThrow(/--store-cache-size/);
  });

  it('reads WARMSTART_* variables and lets flags win', () => {
    const a = tokenEntry('a', 'recommend', 'x');
    const b = tokenEntry('b', 'admin,ingest', 'y');
    const env = { WARMSTART_PORT: '6000', WARMSTART_DATABASE: 'env.db', WARMSTART_AUTH_TOKENS: `${a}; ${b}` };
    const c = configFromArgs(['--port', '7000', '--batch-max-size', '1'], env);
    expect(c).toMatchObject({ port: 7000, database: 'env.db', authTokens: [a, b], batchMaxSize: 1 });
  });

  it('takes tokens from the environment or a file, never from argv', () => {
    expect(() => configFromArgs(['--auth-tokens', 's3cret'], {})).toThrow(
      /--auth-tokens is not accepted.*WARMSTART_AUTH_TOKENS or --auth-tokens-file/,
    );
    expect(() => configFromArgs(['--auth-tokens=s3cret'], {})).toThrow(/not accepted/);
    expect(configFromArgs(['--auth-tokens-file', '/etc/ws.tokens'], {}).authTokensFile).toBe(
      '/etc/ws.tokens',
    );
    // A bare token (the old format) is refused at start-up, naming the variable and the entry.
    expect(() => configFromArgs([], { WARMSTART_AUTH_TOKENS: 's3cret' })).toThrow(
      /WARMSTART_AUTH_TOKENS: entry 1: expected "name:scopes:sha256-of-token"/,
    );
    expect(() => configFromArgs([], { WARMSTART_AUTH_TOKENS: 'a:read:' + '0'.repeat(64) })).toThrow(
      /unknown scope "read"/,
    );
    expect(() => configFromArgs([], { WARMSTART_AUTH_TOKENS: 'a:admin:s3cret' })).toThrow(/SHA-256/);
    expect(() => configFromArgs(['--tls-client-scopes', 'true'], {})).toThrow(/--tls-client-scopes/);
  });

  it('reads --max-in-flight as "adaptive" (the default) or a fixed number, and --latency-target-ms for the adaptive limit', () => {
    expect(configFromArgs([], {}).maxInFlight).toBe('adaptive');
    expect(configFromArgs(['--max-in-flight', '16'], {}).maxInFlight).toBe(16);
    expect(configFromArgs([], { WARMSTART_MAX_IN_FLIGHT: 'adaptive' }).maxInFlight).toBe('adaptive');
    expect(
      configFromArgs(['--max-in-flight', 'adaptive', '--latency-target-ms', '25'], {}).latencyTargetMs,
    ).toBe(25);
    expect(configFromArgs(['--latency-target-ms', '25'], {}).latencyTargetMs).toBe(25);
    expect(() => configFromArgs(['--max-in-flight', '32', '--latency-target-ms', '25'], {})).toThrow(
      /--max-in-flight is 32/,
    );
    expect(() => configFromArgs(['--max-in-flight', 'auto'], {})).toThrow(
      /--max-in-flight: must be "adaptive" or a whole number >= 1/,
    );
    expect(() => configFromArgs(['--max-in-flight', '0'], {})).toThrow(/--max-in-flight/);
    expect(() => configFromArgs(['--latency-target-ms', '0'], {})).toThrow(/--latency-target-ms/);
    expect(() => configFromArgs(['--max-in-flight', '8', '--latency-target-ms', '25'], {})).toThrow(
      /--latency-target-ms: applies to the adaptive limit only \(--max-in-flight is 8\)/,
    );
  });

  it('reads --adapt-ridge as a penalty or "off" (gradient steps)', () => {
    expect(configFromArgs([], {}).adaptRidge).toBeUndefined();
    expect(configFromArgs(['--adapt-ridge', '2.5'], {}).adaptRidge).toBe(2.5);
    expect(configFromArgs([], { WARMSTART_ADAPT_RIDGE: 'off' }).adaptRidge).toBe('off');
    expect(() => configFromArgs(['--adapt-ridge', '0'], {})).toThrow(
      /--adapt-ridge: must be "off" or a number > 0/,
    );
    expect(() => configFromArgs(['--adapt-ridge', 'auto'], {})).toThrow(/--adapt-ridge/);
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
