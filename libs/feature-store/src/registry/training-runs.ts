import { randomUUID } from 'node:crypto';
import type { Db } from '../db/client';
import { sqlTime, type Dialect } from '../db/sql';
import { FailedPreconditionError, NotFoundError, ValidationError } from '../errors';
import { checkId } from '../validate';

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

/** One training (or evaluation) run. */
export interface TrainingRunRecord {
  id: string;
  kind: string;
  status: RunStatus;
  config: unknown;
  metrics: unknown;
  error: string | null;
  /** Where the latest checkpoint was written (e.g. an artifact directory) and when. */
  checkpoint: string | null;
  checkpointAt: Date | null;
  heartbeatAt: Date;
  startedAt: Date;
  finishedAt: Date | null;
}

type Row = Awaited<ReturnType<Db['trainingRun']['findUniqueOrThrow']>>;

const toRecord = (r: Row): TrainingRunRecord => ({ ...r, status: r.status as RunStatus });

/** Training runs (status, config, metrics, heartbeat, checkpoint) and named leases. */
export class TrainingRuns {
  constructor(
    private readonly db: Db,
    private readonly dialect: Dialect,
  ) {}

  /** Records a new running run. */
  async start(input: { id?: string; kind?: string; config: unknown }): Promise<TrainingRunRecord> {
    const id = input.id ?? randomUUID();
    checkId('id', id);
    const row = await this.db.trainingRun.create({
      data: { id, kind: input.kind ?? 'train', status: 'running', config: (input.config ?? {}) as object },
    });
    return toRecord(row);
  }

  private async finishWith(
    id: string,
    data: {
      status: RunStatus;
      metrics?: object;
      error?: string;
      finishedAt: Date;
      checkpoint?: null;
      checkpointAt?: null;
    },
  ): Promise<TrainingRunRecord> {
    checkId('id', id);
    const updated = await this.db.trainingRun.updateMany({ where: { id, status: 'running' }, data });
    if (updated.count === 0) {
      const run = await this.db.trainingRun.findUnique({ where: { id } });
      if (!run) throw new NotFoundError(`run ${id} not found`);
      throw new FailedPreconditionError(`run ${id} is already ${run.status}`);
    }
    return toRecord(await this.db.trainingRun.findUniqueOrThrow({ where: { id } }));
  }

  /**
   * Marks the run alive (and records a checkpoint when given). Returns the run, so a trainer can
   * notice `status === 'cancelled'` set by another process and stop.
   */
  async heartbeat(id: string, checkpoint?: string): Promise<TrainingRunRecord> {
    checkId('id', id);
    const now = new Date();
    await this.db.trainingRun.updateMany({
      where: { id, status: 'running' },
      data: { heartbeatAt: now, ...(checkpoint !== undefined ? { checkpoint, checkpointAt: now } : {}) },
    });
    const run = await this.db.trainingRun.findUnique({ where: { id } });
    if (!run) throw new NotFoundError(`run ${id} not found`);
    return toRecord(run);
  }

  /**
   * Marks the run succeeded with its metrics. A succeeded run has nothing to resume, so its
   * checkpoint fields are cleared (the trainer deletes the checkpoint itself).
   */
  finish(id: string, metrics?: unknown): Promise<TrainingRunRecord> {
    return this.finishWith(id, {
      status: 'succeeded',
      metrics: (metrics ?? null) as object,
      finishedAt: new Date(),
      checkpoint: null,
      checkpointAt: null,
    });
  }

  /** Forgets a run's checkpoint (after it was deleted: superseded by a run that resumed it). */
  async clearCheckpoint(id: string): Promise<void> {
    checkId('id', id);
    const res = await this.db.trainingRun.updateMany({
      where: { id },
      data: { checkpoint: null, checkpointAt: null },
    });
    if (res.count === 0) throw new NotFoundError(`run ${id} not found`);
  }

  fail(id: string, error: unknown): Promise<TrainingRunRecord> {
    const message = error instanceof Error ? error.message : String(error);
    return this.finishWith(id, { status: 'failed', error: message, finishedAt: new Date() });
  }

  cancel(id: string): Promise<TrainingRunRecord> {
    return this.finishWith(id, { status: 'cancelled', finishedAt: new Date() });
  }

  async get(id: string): Promise<TrainingRunRecord | null> {
    checkId('id', id);
    const row = await this.db.trainingRun.findUnique({ where: { id } });
    return row ? toRecord(row) : null;
  }

  /** Runs, newest first. */
  async list(options: { status?: RunStatus; limit?: number } = {}): Promise<TrainingRunRecord[]> {
    const rows = await this.db.trainingRun.findMany({
      where: options.status ? { status: options.status } : {},
      orderBy: [{ startedAt: 'desc' }, { id: 'desc' }],
      take: options.limit ?? 100,
    });
    return rows.map(toRecord);
  }

  /**
   * Ends a run whose process can no longer end it (it died, or stopped after an error) so that
   * its record agrees with the registry: a run that promoted a model (a model version carries
   * its `runId` and was promoted) succeeded, whatever came after the promotion; any other run
   * failed with `reason` (naming the model it registered, if any). Only a `running` run changes;
   * returns the run as recorded.
   */
  async settle(id: string, reason: string): Promise<TrainingRunRecord> {
    checkId('id', id);
    const models = await this.db.modelVersion.findMany({
      where: { runId: id },
      orderBy: { version: 'desc' },
    });
    const promoted = models.find((m) => m.promotedAt !== null);
    if (promoted)
      return this.finishWith(id, {
        status: 'succeeded',
        metrics: { modelId: promoted.modelId, promoted: true, recordedAfter: reason },
        finishedAt: new Date(),
        checkpoint: null,
        checkpointAt: null,
      });
    const registered = models[0];
    return this.finishWith(id, {
      status: 'failed',
      error: registered ? `${reason} (after registering ${registered.modelId}, not promoted)` : reason,
      finishedAt: new Date(),
    });
  }

  /**
   * Settles (see `settle`) every `running` run of `kind`. Call it only while holding the lease
   * such runs run under: then none of them belongs to a live process (a live one holds the lease;
   * one that lost it sees its run ended at its next heartbeat and stops).
   */
  async settleOrphaned(kind: string, reason: string): Promise<TrainingRunRecord[]> {
    const running = await this.db.trainingRun.findMany({ where: { kind, status: 'running' } });
    const out: TrainingRunRecord[] = [];
    for (const run of running) {
      try {
        out.push(await this.settle(run.id, reason));
      } catch (err) {
        if (!(err instanceof FailedPreconditionError)) throw err; // ended meanwhile
      }
    }
    return out;
  }

  /** Fails running runs whose last heartbeat is older than `staleMs` (their process died). */
  async failStale(staleMs: number): Promise<number> {
    const res = await this.db.trainingRun.updateMany({
      where: { status: 'running', heartbeatAt: { lt: new Date(Date.now() - staleMs) } },
      data: { status: 'failed', error: `heartbeat older than ${staleMs} ms`, finishedAt: new Date() },
    });
    return res.count;
  }

  /**
   * Takes (or renews) the lease `name` for `owner` for `ttlMs`. Succeeds when the lease is free,
   * expired, or already held by `owner`; atomic on both backends (one conditional upsert).
   */
  async acquireLock(
    name: string,
    ttlMs: number,
    owner: string = randomUUID(),
  ): Promise<{ owner: string; expiresAt: Date } | null> {
    checkId('name', name);
    checkId('owner', owner);
    if (!Number.isFinite(ttlMs) || ttlMs <= 0)
      throw new ValidationError('ttlMs', `${ttlMs} must be a positive number`);
    const now = new Date();
    const expiresAt = new Date(now.getTime() + ttlMs);
    const d = this.dialect;
    const ts = d.provider === 'sqlite' ? '' : '::timestamp';
    const p = (n: number) => (d.provider === 'sqlite' ? '?' : `$${n}`);
    const changed = await this.db.$executeRawUnsafe(
      `INSERT INTO "locks" ("name", "owner", "expiresAt", "updatedAt") VALUES (${p(1)}, ${p(2)}, ${p(3)}${ts}, ${p(4)}${ts})
       ON CONFLICT ("name") DO UPDATE SET "owner" = excluded."owner", "expiresAt" = excluded."expiresAt", "updatedAt" = excluded."updatedAt"
       WHERE "locks"."expiresAt" < ${p(5)}${ts} OR "locks"."owner" = excluded."owner"`,
      name,
      owner,
      sqlTime(expiresAt),
      sqlTime(now),
      sqlTime(now),
    );
    return changed > 0 ? { owner, expiresAt } : null;
  }

  /** Releases the lease if `owner` holds it; returns whether it did. */
  async releaseLock(name: string, owner: string): Promise<boolean> {
    const res = await this.db.lock.deleteMany({ where: { name, owner } });
    return res.count > 0;
  }
}
