import { randomBytes } from 'node:crypto';
import type { Db, Tx } from '../db/client';
import { FailedPreconditionError, NotFoundError, ValidationError } from '../errors';
import { checkId, checkTime } from '../validate';
import type { Page, PageRequest } from '../store/inputs';
import { decodeCursor, encodeCursor, pageLimit } from '../store/pages';

export type ModelStatus = 'candidate' | 'promoted' | 'retired';

/** One registered model version. */
export interface ModelVersionRecord {
  modelId: string;
  /** Monotonic across the registry. */
  version: number;
  algorithm: string;
  /** Artifact directory, relative to the artifacts root. */
  artifactUri: string;
  /** Metrics keyed by scenario, e.g. `{ validation: { mae, rmse, ndcg3, p5 } }`. */
  metrics: Record<string, Record<string, number>>;
  status: ModelStatus;
  dataWatermark: Date | null;
  createdAt: Date;
  promotedAt: Date | null;
  runId: string | null;
}

/** What `registerModel` needs; `modelId` defaults to `m-<yyyymmdd>-<random hex>`. */
export interface RegisterModelInput {
  modelId?: string;
  algorithm: string;
  artifactUri: string;
  metrics?: Record<string, Record<string, number>>;
  dataWatermark?: Date;
  runId?: string;
}

type Row = Awaited<ReturnType<Db['modelVersion']['findUniqueOrThrow']>>;

function toRecord(r: Row): ModelVersionRecord {
  return {
    modelId: r.modelId,
    version: r.version,
    algorithm: r.algorithm,
    artifactUri: r.artifactUri,
    metrics: (r.metrics ?? {}) as ModelVersionRecord['metrics'],
    status: r.status as ModelStatus,
    dataWatermark: r.dataWatermark,
    createdAt: r.createdAt,
    promotedAt: r.promotedAt,
    runId: r.runId,
  };
}

// pg_advisory_xact_lock key of registry changes ("wreg"); distinct from the migration lock.
const PG_REGISTRY_LOCK = 0x77726567;

/**
 * The model registry: candidates, one promoted version, retired ones, and rollback. Promote and
 * rollback are exclusive across processes (see `lockRegistry`) and a partial unique index allows at
 * most one promoted row.
 */
export class ModelRegistry {
  constructor(
    private readonly db: Db,
    private readonly provider: 'sqlite' | 'postgresql',
  ) {}

  /**
   * Serializes registry changes until `tx` ends. PostgreSQL: a transaction-scoped advisory lock
   * (READ COMMITTED statements after it see the previous holder's commit). SQLite: a no-op write
   * first, which takes the database write lock before anything is read (a deferred transaction
   * that read first would fail with SQLITE_BUSY_SNAPSHOT when another process promoted meanwhile).
   */
  private async lockRegistry(tx: Tx): Promise<void> {
    if (this.provider === 'postgresql') {
      await tx.$executeRawUnsafe('SELECT pg_advisory_xact_lock($1)', PG_REGISTRY_LOCK);
    } else {
      await tx.$executeRawUnsafe('UPDATE "model_versions" SET "status" = "status" WHERE 0');
    }
  }

  /** Registers a candidate with the next version number. */
  async registerModel(input: RegisterModelInput): Promise<ModelVersionRecord> {
    const now = new Date();
    const modelId =
      input.modelId ??
      `m-${now.toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
    checkId('modelId', modelId);
    if (typeof input.algorithm !== 'string' || input.algorithm === '') {
      throw new ValidationError('algorithm', 'must be a non-empty string');
    }
    if (typeof input.artifactUri !== 'string' || input.artifactUri === '') {
      throw new ValidationError('artifactUri', 'must be a non-empty string');
    }
    checkTime('dataWatermark', input.dataWatermark, true);
    for (const [scenario, figures] of Object.entries(input.metrics ?? {})) {
      for (const [name, v] of Object.entries(figures)) {
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          throw new ValidationError(`metrics.${scenario}.${name}`, `${String(v)} is not a finite number`);
        }
      }
    }
    // The unique version index makes two concurrent registrations collide; retry with the next number.
    for (let attempt = 0; ; attempt++) {
      try {
        const row = await this.db.$transaction(async (tx) => {
          const max = await tx.modelVersion.aggregate({ _max: { version: true } });
          return tx.modelVersion.create({
            data: {
              modelId,
              version: (max._max.version ?? 0) + 1,
              algorithm: input.algorithm,
              artifactUri: input.artifactUri,
              metrics: input.metrics ?? {},
              status: 'candidate',
              dataWatermark: input.dataWatermark ?? null,
              runId: input.runId ?? null,
              createdAt: now,
            },
          });
        });
        return toRecord(row);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'P2002' && attempt < 5) {
          if (await this.db.modelVersion.findUnique({ where: { modelId } })) {
            throw new ValidationError('modelId', `"${modelId}" is already registered`);
          }
          continue;
        }
        throw err;
      }
    }
  }

  /** Versions newest first; optionally only one status. */
  async listModels(options: PageRequest & { status?: ModelStatus } = {}): Promise<Page<ModelVersionRecord>> {
    const limit = pageLimit(options);
    const after = decodeCursor(options.cursor, 1);
    const rows = await this.db.modelVersion.findMany({
      where: {
        ...(options.status ? { status: options.status } : {}),
        ...(after ? { version: { lt: Number(after[0]) } } : {}),
      },
      orderBy: { version: 'desc' },
      take: limit + 1,
    });
    const items = rows.slice(0, limit).map(toRecord);
    return {
      items,
      nextCursor: rows.length > limit ? encodeCursor([items[items.length - 1].version]) : null,
    };
  }

  async getModel(modelId: string): Promise<ModelVersionRecord | null> {
    checkId('modelId', modelId);
    const row = await this.db.modelVersion.findUnique({ where: { modelId } });
    return row ? toRecord(row) : null;
  }

  async getPromoted(): Promise<ModelVersionRecord | null> {
    const row = await this.db.modelVersion.findFirst({
      where: { status: 'promoted' },
      orderBy: { version: 'desc' },
    });
    return row ? toRecord(row) : null;
  }

  /**
   * Makes `modelId` the promoted version; the previously promoted one becomes retired. Atomic and
   * exclusive: concurrent promotes run one after another, so exactly one version ends promoted.
   */
  async promote(modelId: string): Promise<ModelVersionRecord> {
    checkId('modelId', modelId);
    const row = await this.db.$transaction(async (tx) => {
      await this.lockRegistry(tx);
      const target = await tx.modelVersion.findUnique({ where: { modelId } });
      if (!target) throw new NotFoundError(`model ${modelId} not found`);
      if (target.status === 'promoted') return target;
      const now = new Date();
      await tx.modelVersion.updateMany({ where: { status: 'promoted' }, data: { status: 'retired' } });
      return tx.modelVersion.update({
        where: { modelId },
        data: { status: 'promoted', promotedAt: now, rolledBackAt: null },
      });
    });
    return toRecord(row);
  }

  /**
   * Re-promotes the version promoted before the current one (skipping versions that were rolled
   * back from); the current one is retired and never chosen by a later rollback.
   */
  async rollback(): Promise<ModelVersionRecord> {
    const row = await this.db.$transaction(async (tx) => {
      await this.lockRegistry(tx);
      const current = await tx.modelVersion.findFirst({ where: { status: 'promoted' } });
      if (!current) throw new FailedPreconditionError('no promoted model to roll back from');
      const previous = await tx.modelVersion.findFirst({
        where: {
          status: 'retired',
          promotedAt: { not: null },
          rolledBackAt: null,
          modelId: { not: current.modelId },
        },
        orderBy: { promotedAt: 'desc' },
      });
      if (!previous) throw new FailedPreconditionError('no earlier promoted model to roll back to');
      const now = new Date();
      await tx.modelVersion.update({
        where: { modelId: current.modelId },
        data: { status: 'retired', rolledBackAt: now },
      });
      return tx.modelVersion.update({
        where: { modelId: previous.modelId },
        data: { status: 'promoted', promotedAt: now },
      });
    });
    return toRecord(row);
  }
}
