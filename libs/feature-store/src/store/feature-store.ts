import type { Db } from '../db/client';
import { createClient } from '../db/client';
import { checkSqliteFile, connectionFailure } from '../db/availability';
import { openHotReads } from '../db/hot-reads';
import { resolveDatabase, type ResolvedDatabase } from '../db/location';
import { migrate } from '../db/migrate';
import { prismaRunner } from '../db/runner';
import { Dialect } from '../db/sql';
import { checkTime } from '../validate';
import { writeInteractions, writeItems, writeUsers } from './writes';
import type { UserRecord } from '../types';
import {
  DEFAULT_PROFILE,
  inferProfile,
  readProfile,
  writeProfile,
  type DatasetProfile,
} from './dataset-profile';
import { FeatureSpecs } from './feature-specs';
import type { IngestResult, InteractionInput, ItemRecordInput } from './inputs';
import { OnlineReads, type CacheOptions } from './online';
import { ModelRegistry } from '../registry/model-registry';
import { TrainingRuns } from '../registry/training-runs';
import { Snapshot } from './snapshot';
import { validateInteractions, validateItems, validateUsers } from './validate-inputs';

/** Options of `openFeatureStore`. */
export interface FeatureStoreOptions {
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
  /**
   * Create the SQLite file when it does not exist (default true). With false, a missing file
   * throws DatabaseUnavailableError naming the path, so a typo cannot start an empty database.
   */
  create?: boolean;
  cache?: CacheOptions;
  /**
   * Inclusive range accepted for rating interactions. Default: the scale of the stored dataset
   * profile (`datasetProfile()`), else [1, 5].
   */
  ratingRange?: readonly [number, number];
  /** Interactive transaction timeout for bulk writes (default 10 minutes). */
  transactionTimeoutMs?: number;
  /**
   * Read what serving reads per request (`userWatermark`, and the cache misses of `getUsers`,
   * `getItems` and `recentInteractions` without `before`) on the driver itself, over its own
   * read-only SQLite connection or a two-connection pg pool, opened on first use (default true);
   * false reads them through Prisma.
   */
  hotReads?: boolean;
}

/** Options of a bulk ingest. */
export interface IngestOptions {
  /** Create users that do not exist yet, without features (default true). Unknown items always reject. */
  createUsers?: boolean;
}

/** The feature store: one typed API over SQLite and PostgreSQL. Create with `openFeatureStore`. */
export class FeatureStore extends OnlineReads {
  readonly provider: 'sqlite' | 'postgresql';
  readonly registry: ModelRegistry;
  readonly runs: TrainingRuns;
  readonly featureSpecs: FeatureSpecs;
  /** @internal */
  readonly dialect: Dialect;
  private readonly fixedRatingRange: readonly [number, number] | undefined;
  private profile: DatasetProfile = DEFAULT_PROFILE;
  private readonly txTimeout: number;

  /** @internal use `openFeatureStore`. */
  constructor(
    /** The Prisma client (escape hatch for ad-hoc queries; the schema is prisma/schema.prisma). */
    readonly prisma: Db,
    readonly database: ResolvedDatabase,
    options: FeatureStoreOptions = {},
  ) {
    const hot = options.hotReads === false ? undefined : openHotReads(database);
    super(prisma, options.cache, database.provider, hot);
    this.provider = database.provider;
    this.dialect = new Dialect(database.provider);
    this.registry = new ModelRegistry(prisma, database.provider);
    this.runs = new TrainingRuns(prisma, this.dialect);
    this.featureSpecs = new FeatureSpecs(prisma);
    this.fixedRatingRange = options.ratingRange;
    this.txTimeout = options.transactionTimeoutMs ?? 600_000;
  }

  /**
   * Inclusive range accepted for rating interactions: the `ratingRange` option, else the declared
   * scale of the dataset profile as last read (at open, by `datasetProfile()` or an import), else [1, 5].
   */
  get ratingRange(): readonly [number, number] {
    return this.fixedRatingRange ?? this.profile.scale ?? DEFAULT_PROFILE.scale!;
  }

  /**
   * The stored dataset's profile: feedback kind, rating scale and whether it has event times, as
   * the importers declared it. A store no import has declared one for reports implicit when its newest
   * interaction is implicit, else explicit on 1..5 with times. Read from the database on each call.
   */
  async datasetProfile(): Promise<DatasetProfile> {
    this.profile = (await readProfile(this.prisma)) ?? (await inferProfile(this.prisma));
    const { scale } = this.profile;
    return { ...this.profile, scale: scale ? [scale[0], scale[1]] : null };
  }

  /**
   * Declares the stored dataset's profile (the importers do it in their own transaction). Throws a
   * `ValidationError` naming `profile.kind`, `profile.scale` or `profile.hasTimes` when invalid.
   */
  async setDatasetProfile(profile: DatasetProfile): Promise<void> {
    await writeProfile(this.prisma, profile);
    await this.datasetProfile();
  }

  /** @internal Runs `fn` in one interactive transaction (all or nothing). */
  transaction<T>(
    fn: (tx: Parameters<Parameters<Db['$transaction']>[0]>[0]) => Promise<T>,
    timeoutMs = this.txTimeout,
  ): Promise<T> {
    return this.prisma.$transaction(fn, { timeout: timeoutMs, maxWait: 60_000 });
  }

  /** Upserts users in one transaction; users whose features are unchanged are not rewritten. Returns how many changed. */
  async upsertUsers(users: readonly UserRecord[]): Promise<number> {
    validateUsers(users);
    if (users.length === 0) return 0;
    const changed = await this.transaction((tx) =>
      writeUsers(prismaRunner(tx, this.dialect), users, new Date()),
    );
    this.invalidateUsers(users.map((u) => u.id));
    return changed.length;
  }

  /** Upserts items (features, availableAt, status) in one transaction. Returns how many changed. */
  async upsertItems(items: readonly ItemRecordInput[]): Promise<number> {
    validateItems(items);
    if (items.length === 0) return 0;
    const changed = await this.transaction((tx) =>
      writeItems(prismaRunner(tx, this.dialect), items, new Date()),
    );
    this.invalidateItems(items.map((it) => it.id));
    return changed.length;
  }

  /** Ingests interactions in one transaction; event ids already stored count as duplicates. */
  async ingestInteractions(
    rows: readonly InteractionInput[],
    options: IngestOptions = {},
  ): Promise<IngestResult> {
    validateInteractions(rows, this.ratingRange);
    if (rows.length === 0) return { ingested: 0, duplicates: 0 };
    const { ingested, duplicates } = await this.transaction((tx) =>
      writeInteractions(prismaRunner(tx, this.dialect), rows, new Date(), options.createUsers ?? true),
    );
    this.invalidateInteractions(new Set(rows.map((r) => r.userId)));
    return { ingested, duplicates };
  }

  /** A point-in-time snapshot at `watermark` (default: now), streamed page by page. */
  snapshot(watermark: Date = new Date(), options: { pageSize?: number } = {}): Snapshot {
    checkTime('watermark', watermark);
    return new Snapshot(this.prisma, watermark, options.pageSize);
  }

  /** Latest interaction event time in the store (a natural training watermark), or null when empty. */
  async latestEventTime(): Promise<Date | null> {
    const agg = await this.prisma.interaction.aggregate({ _max: { eventTime: true } });
    return agg._max.eventTime ?? null;
  }

  /** Row counts (users, items, interactions). */
  async counts(): Promise<{ users: number; items: number; interactions: number }> {
    const [users, items, interactions] = await Promise.all([
      this.prisma.user.count(),
      this.prisma.item.count(),
      this.prisma.interaction.count(),
    ]);
    return { users, items, interactions };
  }

  /** Closes the connection(s). */
  async close(): Promise<void> {
    this.clear();
    await this.hot?.close();
    await this.prisma.$disconnect();
  }
}

/**
 * Opens the store at `database` (a SQLite file path, default `./data/warmstart.db`, or a
 * `postgresql://` URL, optionally with `?schema=name`), applying pending migrations first.
 * A path that is a directory, a missing file with `create: false`, and a PostgreSQL server that
 * cannot be reached throw DatabaseUnavailableError.
 */
export async function openFeatureStore(
  database?: string,
  options: FeatureStoreOptions = {},
): Promise<FeatureStore> {
  const resolved = resolveDatabase(database);
  checkSqliteFile(resolved, options.create ?? true);
  if (options.migrate !== false) await migrate(resolved);
  const prisma = createClient(resolved);
  await prisma.$connect().catch((err: unknown) => {
    throw connectionFailure(resolved, err) ?? err;
  });
  const store = new FeatureStore(prisma, resolved, options);
  try {
    await store.datasetProfile();
  } catch (err) {
    // Opened without migrating a database that predates the settings table: keep the default.
    if ((err as { code?: string }).code !== 'P2021') {
      await prisma.$disconnect();
      throw err;
    }
  }
  return store;
}
