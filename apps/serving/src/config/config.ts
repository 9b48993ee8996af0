import { Command, Option } from 'commander';
import { z } from 'zod';
import { parseTokenEntries } from '../auth/token-table';

/**
 * Concurrent calls admitted by default (`--max-in-flight`): the adaptive limit, which counts the
 * event loop's lag as well as the calls' own latency (README, "Overload").
 */
export const DEFAULT_MAX_IN_FLIGHT: number | 'adaptive' = 'adaptive';
/**
 * What the adaptive limit holds the p90 latency of admitted calls (plus the event loop's lag)
 * under, by default (ms). 20 keeps the admitted p99 of 256 closed-loop callers under 100 ms on a
 * 2-core machine (89-108 ms over four runs; 50 gave 163-252 ms) and refuses 15-36% of 64 uncached
 * callers whose p99 would be 60-90 ms without refusals; README, "Overload".
 */
export const DEFAULT_LATENCY_TARGET_MS = 20;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const bool = z.union([
  z.boolean(),
  z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1'),
]);
/** Token entries (`name:scopes:sha256`), separated by newlines or ";" (scopes use ","). */
const entries = z
  .union([z.array(z.string()), z.string()])
  .transform((v) =>
    (Array.isArray(v) ? v : v.split(/[;\n]/)).map((s) => s.trim()).filter((s) => s.length > 0),
  );

/** Every setting of the server, validated; flags win over environment variables, which win over defaults. */
/** --adapt-ridge's error (union members would each give their own). */
const RIDGE_ERROR = { error: 'must be "off" or a number > 0' };

export const ServingConfigSchema = z
  .object({
    host: z.string().min(1).default('0.0.0.0'),
    port: int(0, 65535).default(50051),
    database: z.string().min(1).default('./data/warmstart.db'),
    artifacts: z.string().min(1).default('./models'),
    /** Largest number of users adapted together in one batched computation; 1 turns batching off. */
    batchMaxSize: int(1, 4096).default(32),
    /** How long the first request of a batch may wait for others. */
    batchMaxWaitMs: z.coerce.number().min(0).max(1000).default(2),
    /** Adaptation requests waiting beyond this answer RESOURCE_EXHAUSTED. */
    queueLimit: int(1).default(1024),
    /**
     * Concurrent calls beyond this answer RESOURCE_EXHAUSTED at once (before their body is
     * decoded): `adaptive` (a limit that moves with the latency of admitted calls, held under
     * `latencyTargetMs`) or a fixed number (README, "Overload").
     */
    maxInFlight: z
      .union([z.literal('adaptive'), int(1)], { error: 'must be "adaptive" or a whole number >= 1' })
      .default(DEFAULT_MAX_IN_FLIGHT),
    /**
     * The adaptive limit shrinks while the p90 latency of admitted calls is above this (ms;
     * default DEFAULT_LATENCY_TARGET_MS). Only with `maxInFlight: 'adaptive'`.
     */
    latencyTargetMs: z.coerce.number().positive().max(60_000).optional(),
    /** Adapted users kept in the LRU; 0 disables the cache. */
    cacheSize: int(0).default(10_000),
    /** Bytes of adapted tensors the LRU may keep alive (each entry its own one-user copy). */
    cacheBytes: int(0).default(256 * 1024 * 1024),
    /** Users, items and users' recent interactions the store keeps as read (entries of each, LRU). */
    storeCacheSize: int(1, 10_000_000).default(10_000),
    /** How often, at most, the item catalog checks the store for other writers' item changes (ms). */
    freshnessMs: int(0, 3_600_000).default(1000),
    /** Item writes through this server are applied to the catalog at most this often (ms). */
    writeCoalesceMs: int(0, 60_000).default(100),
    /** Most recent interactions per new item used to warm it up between retrains; 0 turns warm-up off. */
    warmupInteractions: int(0, 1000).default(50),
    /** Rows of gathered explicit candidate lists kept per catalog encoding (LRU); 0 disables it. */
    candidateCacheRows: int(0).default(50_000),
    /** Bytes of recently seen encoded candidate lists whose decoding is reused; 0 disables it. */
    candidateDecodeCacheBytes: int(0).default(8 * 1024 * 1024),
    /** Recent stored interactions used as the support set. */
    supportLimit: int(1, 10_000).default(50),
    /** Recent stored interactions excluded from results as "already seen". */
    seenLimit: int(0, 100_000).default(1000),
    maxK: int(1, 100_000).default(1000),
    maxCandidates: int(1, 1_000_000).default(10_000),
    /** All-active candidates passed from the first stage to the network when the catalog is larger; 0 = exhaustive. */
    shortlistSize: int(0, 1_000_000).default(2000),
    /** The shortlist is at least this fraction of the catalog (1% of 1M items: 10,000). */
    shortlistFraction: z.coerce.number().min(0).max(1).default(0.01),
    maxInlineSupport: int(1, 100_000).default(500),
    maxBatchRows: int(1, 1_000_000).default(1000),
    maxInteractionRows: int(1, 1_000_000).default(10_000),
    adaptSteps: int(0, 1000).optional(),
    adaptLr: z.coerce.number().positive().optional(),
    /**
     * Closed-form ridge head at serving time: a penalty, or `off` for gradient steps (default: the
     * model's). A number needs models that adapt their head only (core supportsClosedFormHead).
     */
    adaptRidge: z.union([z.literal('off'), z.coerce.number(RIDGE_ERROR).positive(RIDGE_ERROR)]).optional(),
    pollIntervalMs: int(0).default(5000),
    maxMessageBytes: int(1024).default(4 * 1024 * 1024),
    drainTimeoutMs: int(0).default(10_000),
    /** `name:scopes:sha256-of-token` entries; from the environment only (argv shows in `ps`). */
    authTokens: entries.default([]),
    /** A file of `name:scopes:sha256-of-token` lines, read again on SIGHUP. */
    authTokensFile: z.string().min(1).optional(),
    /** With mutual TLS: a client certificate's `OU=warmstart.<scope>` attributes grant scopes. */
    tlsClientScopes: bool.default(false),
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
    tlsClientCa: z.string().min(1).optional(),
    metrics: bool.default(true),
    metricsHost: z.string().min(1).default('127.0.0.1'),
    metricsPort: int(0, 65535).default(9464),
    /** Server processes sharing the port (1 = this process serves); each uses one core for its JavaScript. */
    workers: int(1, 64).default(1),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((c, ctx) => {
    if ((c.tlsCert === undefined) !== (c.tlsKey === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['tlsKey'],
        message: 'tlsCert and tlsKey must be given together',
      });
    if (c.tlsClientScopes && c.tlsClientCa === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['tlsClientScopes'],
        message: 'client certificate scopes need mutual TLS (--tls-client-ca)',
      });
    try {
      parseTokenEntries(c.authTokens.join('\n'), 'WARMSTART_AUTH_TOKENS', 'entry');
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        path: ['authTokens'],
        message: (err as Error).message.replace(/^WARMSTART_AUTH_TOKENS: /, ''),
      });
    }
    if (c.latencyTargetMs !== undefined && c.maxInFlight !== 'adaptive')
      ctx.addIssue({
        code: 'custom',
        path: ['latencyTargetMs'],
        message: `applies to the adaptive limit only (--max-in-flight is ${c.maxInFlight})`,
      });
    if (c.tlsClientCa !== undefined && c.tlsCert === undefined)
      ctx.addIssue({ code: 'custom', path: ['tlsClientCa'], message: 'mutual TLS needs tlsCert and tlsKey' });
  });

export type ServingConfig = z.output<typeof ServingConfigSchema>;
export type ServingConfigInput = z.input<typeof ServingConfigSchema>;

/** Settings read from the environment only: a secret on the command line shows in `ps`. */
const ENV_ONLY = new Set<keyof ServingConfigInput>(['authTokens']);

/** Flag name, environment variable and description of each setting. */
const SETTINGS: ReadonlyArray<[keyof ServingConfigInput, string, string]> = [
  ['host', 'WARMSTART_HOST', 'interface to listen on'],
  ['port', 'WARMSTART_PORT', 'gRPC port (0 = any free port)'],
  ['database', 'WARMSTART_DATABASE', 'SQLite file path or postgresql:// URL'],
  ['artifacts', 'WARMSTART_ARTIFACTS', 'model artifacts root directory'],
  ['batchMaxSize', 'WARMSTART_BATCH_MAX_SIZE', 'max users adapted in one batch (1 = no batching)'],
  ['batchMaxWaitMs', 'WARMSTART_BATCH_MAX_WAIT_MS', 'max wait for a batch to fill, ms'],
  ['queueLimit', 'WARMSTART_QUEUE_LIMIT', 'max adaptation requests waiting'],
  [
    'maxInFlight',
    'WARMSTART_MAX_IN_FLIGHT',
    'concurrent calls admitted: "adaptive" (follows latency) or a fixed number',
  ],
  [
    'latencyTargetMs',
    'WARMSTART_LATENCY_TARGET_MS',
    'adaptive limit: p90 latency of admitted calls it keeps under, ms',
  ],
  ['cacheSize', 'WARMSTART_CACHE_SIZE', 'adapted users kept in the LRU (0 = off)'],
  ['cacheBytes', 'WARMSTART_CACHE_BYTES', 'bytes of adapted tensors the LRU may keep'],
  [
    'storeCacheSize',
    'WARMSTART_STORE_CACHE_SIZE',
    "users, items and users' recent interactions the store keeps as read (entries of each)",
  ],
  [
    'freshnessMs',
    'WARMSTART_FRESHNESS_MS',
    "how often, at most, other writers' item changes are checked, ms (0 = every request)",
  ],
  [
    'writeCoalesceMs',
    'WARMSTART_WRITE_COALESCE_MS',
    'item writes through this server are applied to the catalog at most this often, ms (0 = before the next request)',
  ],
  [
    'warmupInteractions',
    'WARMSTART_WARMUP_INTERACTIONS',
    'recent interactions per new item used to warm it up between retrains (0 = off)',
  ],
  [
    'candidateCacheRows',
    'WARMSTART_CANDIDATE_CACHE_ROWS',
    'rows of gathered explicit candidate lists kept (0 = off)',
  ],
  [
    'candidateDecodeCacheBytes',
    'WARMSTART_CANDIDATE_DECODE_CACHE_BYTES',
    'bytes of recently seen candidate lists whose decoding is reused (0 = off)',
  ],
  ['supportLimit', 'WARMSTART_SUPPORT_LIMIT', 'recent interactions used as support set'],
  ['seenLimit', 'WARMSTART_SEEN_LIMIT', 'recent interactions excluded as seen'],
  ['maxK', 'WARMSTART_MAX_K', 'largest k accepted'],
  ['maxCandidates', 'WARMSTART_MAX_CANDIDATES', 'largest candidate set scored'],
  [
    'shortlistSize',
    'WARMSTART_SHORTLIST_SIZE',
    'all-active candidates the first stage passes to the network in a larger catalog (0 = score all)',
  ],
  [
    'shortlistFraction',
    'WARMSTART_SHORTLIST_FRACTION',
    'the shortlist is at least this fraction of the catalog (0 = always --shortlist-size)',
  ],
  ['maxInlineSupport', 'WARMSTART_MAX_INLINE_SUPPORT', 'largest inline support set'],
  ['maxBatchRows', 'WARMSTART_MAX_BATCH_ROWS', 'largest users/items/ids list per call'],
  ['maxInteractionRows', 'WARMSTART_MAX_INTERACTION_ROWS', 'largest interactions list per call'],
  ['adaptSteps', 'WARMSTART_ADAPT_STEPS', 'inner steps at serving time (default: the model)'],
  ['adaptLr', 'WARMSTART_ADAPT_LR', 'inner learning rate at serving time (default: the model)'],
  [
    'adaptRidge',
    'WARMSTART_ADAPT_RIDGE',
    'closed-form ridge head penalty at serving time, or "off" for gradient steps (default: the model)',
  ],
  ['pollIntervalMs', 'WARMSTART_POLL_INTERVAL_MS', 'registry poll interval, ms (0 = no polling)'],
  ['maxMessageBytes', 'WARMSTART_MAX_MESSAGE_BYTES', 'max gRPC message size, bytes'],
  ['drainTimeoutMs', 'WARMSTART_DRAIN_TIMEOUT_MS', 'how long shutdown waits for in-flight calls, ms'],
  ['authTokens', 'WARMSTART_AUTH_TOKENS', 'name:scopes:sha256-of-token entries separated by ";"'],
  [
    'authTokensFile',
    'WARMSTART_AUTH_TOKENS_FILE',
    'file of name:scopes:sha256-of-token lines, reloaded on SIGHUP (auth on when given)',
  ],
  [
    'tlsClientScopes',
    'WARMSTART_TLS_CLIENT_SCOPES',
    'mutual TLS: OU=warmstart.<scope> in a client certificate grants that scope (true/false)',
  ],
  ['tlsCert', 'WARMSTART_TLS_CERT', 'server certificate PEM file'],
  ['tlsKey', 'WARMSTART_TLS_KEY', 'server private key PEM file'],
  ['tlsClientCa', 'WARMSTART_TLS_CLIENT_CA', 'CA PEM file: require client certificates (mTLS)'],
  ['metrics', 'WARMSTART_METRICS', 'serve Prometheus metrics (true/false)'],
  ['metricsHost', 'WARMSTART_METRICS_HOST', 'metrics HTTP interface (default loopback only)'],
  ['metricsPort', 'WARMSTART_METRICS_PORT', 'metrics HTTP port (0 = any free port)'],
  ['workers', 'WARMSTART_WORKERS', 'server processes sharing the port (1 = no cluster; e.g. the core count)'],
  ['logLevel', 'WARMSTART_LOG_LEVEL', 'pino log level'],
];

const flagOf = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const settingName = (key: string) =>
  ENV_ONLY.has(key as keyof ServingConfigInput)
    ? (SETTINGS.find(([k]) => k === key)?.[1] ?? key)
    : `--${flagOf(key)}`;

/** Validates a partial config; errors name the setting. */
export function parseConfig(input: Record<string, unknown>): ServingConfig {
  const result = ServingConfigSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${settingName(String(i.path[0] ?? ''))}: ${i.message}`);
    throw new Error(`invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

/** Reads flags (`--batch-max-size 16`) and WARMSTART_* environment variables. */
export function configFromArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ServingConfig {
  const program = new Command('warmstart-serve')
    .description('warmstart gRPC server: per-request fast adaptation, feature store and registry services')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .allowExcessArguments(false);
  for (const [key, envName, help] of SETTINGS) {
    if (ENV_ONLY.has(key)) continue;
    program.addOption(new Option(`--${flagOf(key)} <value>`, `${help} (env ${envName})`));
  }
  if (argv.some((a) => a === '--auth-tokens' || a.startsWith('--auth-tokens=')))
    throw new Error(
      '--auth-tokens is not accepted (the command line shows in `ps`): use WARMSTART_AUTH_TOKENS or --auth-tokens-file',
    );
  program.parse(argv, { from: 'user' });
  const flags = program.opts<Record<string, string>>();
  const input: Record<string, unknown> = {};
  for (const [key, envName] of SETTINGS) {
    const value = (ENV_ONLY.has(key) ? undefined : flags[key]) ?? env[envName];
    if (value !== undefined && value !== '') input[key] = value;
  }
  return parseConfig(input);
}
