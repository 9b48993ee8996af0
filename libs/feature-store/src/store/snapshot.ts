import { unsafeUniformIntDistribution, xoroshiro128plus } from 'pure-rand';
import type { Db } from '../db/client';
import { ValidationError } from '../errors';
import type { FeatureRecord, ItemRecord, Rating, Task, UserRecord } from '../types';
import { decodeFeatures, type FeatureRow } from './feature-rows';

/** One user's interactions in a snapshot, oldest first. */
export interface UserInteractions {
  user: UserRecord;
  ratings: Rating[];
}

/** How `tasks()` samples the support and query sets (defaults: protocol P1, docs/protocols.md). */
export interface TaskOptions {
  /** Keep only ratings passing this test (a scenario's item set). */
  filter?: (rating: Rating, user: UserRecord) => boolean;
  /** Keep only these users (a scenario's user set). */
  users?: (user: UserRecord, ratings: Rating[]) => boolean;
  /** Drop tasks with fewer ratings (default 13). */
  minRatings?: number;
  /** Keep a seeded random subset of this many (default 100). */
  maxRatings?: number;
  /** Query set size (default 10); the rest is the support set. */
  querySize?: number;
  seed?: number;
}

type ItemPageRow = {
  id: string;
  availableAt: Date | null;
  status: string;
  features: (FeatureRow & { validFrom: Date; validTo: Date | null })[];
};

type VersionedRow = FeatureRow & { owner: string; validFrom: Date; validTo: Date | null };

/**
 * The features of each owner as of `at`: the version valid at that time, or, for entities first
 * described after `at`, their earliest version (features are not back-dated).
 */
function featuresAsOf(rows: VersionedRow[], at: Date): Map<string, FeatureRecord> {
  const byOwner = new Map<string, VersionedRow[]>();
  for (const r of rows) {
    const list = byOwner.get(r.owner) ?? [];
    list.push(r);
    byOwner.set(r.owner, list);
  }
  const out = new Map<string, FeatureRecord>();
  for (const [owner, list] of byOwner) {
    const t = at.getTime();
    let chosen = list.filter(
      (r) => r.validFrom.getTime() <= t && (r.validTo === null || r.validTo.getTime() > t),
    );
    if (chosen.length === 0) {
      const first = Math.min(...list.map((r) => r.validFrom.getTime()));
      chosen = list.filter((r) => r.validFrom.getTime() === first);
    }
    out.set(owner, decodeFeatures(chosen));
  }
  return out;
}

/** Largest accepted `pageSize` of a snapshot. */
export const MAX_SNAPSHOT_PAGE = 100_000;

/**
 * A point-in-time view for training: interactions with event time <= `watermark` that were
 * ingested before the snapshot was taken; the users and items that existed at the watermark
 * (see `users()` / `items()`); and features as of the watermark (see README: feature versions are
 * keyed by write time). Everything is streamed with keyset pagination, `pageSize` users or items
 * at a time.
 */
export class Snapshot {
  /** Rows ingested after this instant are invisible (stable while writes continue). */
  readonly asOf = new Date();

  constructor(
    private readonly db: Db,
    readonly watermark: Date,
    private readonly pageSize = 100,
  ) {
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > MAX_SNAPSHOT_PAGE) {
      throw new ValidationError(
        'pageSize',
        `${String(pageSize)} is not an integer in 1..${MAX_SNAPSHOT_PAGE}`,
      );
    }
  }

  /** An interaction visible in this snapshot (happened by the watermark, ingested by `asOf`). */
  private visibleInteraction() {
    return { some: { eventTime: { lte: this.watermark }, ingestedAt: { lte: this.asOf } } };
  }

  private async userPage(after: string | null): Promise<UserRecord[]> {
    const rows = await this.db.user.findMany({
      where: {
        createdAt: { lte: this.asOf },
        // existed at the watermark: stored by then, or already interacting by then
        OR: [{ createdAt: { lte: this.watermark } }, { interactions: this.visibleInteraction() }],
        ...(after !== null ? { id: { gt: after } } : {}),
      },
      orderBy: { id: 'asc' },
      take: this.pageSize,
      include: { features: true },
    });
    const features = featuresAsOf(
      rows.flatMap((u) => u.features.map((f) => ({ ...f, owner: u.id }))),
      this.watermark,
    );
    return rows.map((u) => ({ id: u.id, features: features.get(u.id) ?? {} }));
  }

  /**
   * Users that existed at the watermark, in id order: stored at or before it, or with an
   * interaction at or before it (imported history: users stored today with 1998 ratings).
   */
  async *users(): AsyncGenerator<UserRecord> {
    let after: string | null = null;
    for (;;) {
      const page = await this.userPage(after);
      yield* page;
      if (page.length < this.pageSize) return;
      after = page[page.length - 1].id;
    }
  }

  /**
   * Items (any status) available at the watermark, in id order, with features as of the watermark:
   * `availableAt <= watermark`, or interacted with at or before it. Items released later are left out.
   */
  async *items(): AsyncGenerator<ItemRecord & { status: string }> {
    let after: string | null = null;
    for (;;) {
      const rows: ItemPageRow[] = await this.db.item.findMany({
        where: {
          createdAt: { lte: this.asOf },
          OR: [
            { availableAt: { lte: this.watermark } },
            { availableAt: null, createdAt: { lte: this.watermark } },
            { interactions: this.visibleInteraction() },
          ],
          ...(after !== null ? { id: { gt: after } } : {}),
        },
        orderBy: { id: 'asc' },
        take: this.pageSize,
        include: { features: true },
      });
      const features = featuresAsOf(
        rows.flatMap((it) => it.features.map((f) => ({ ...f, owner: it.id }))),
        this.watermark,
      );
      for (const it of rows) {
        yield {
          id: it.id,
          features: features.get(it.id) ?? {},
          ...(it.availableAt ? { availableAt: it.availableAt } : {}),
          status: it.status,
        };
      }
      if (rows.length < this.pageSize) return;
      after = rows[rows.length - 1].id;
    }
  }

  /** Each user with at least one visible interaction and the interactions, oldest first. */
  async *interactionsByUser(): AsyncGenerator<UserInteractions> {
    let after: string | null = null;
    for (;;) {
      const users = await this.userPage(after);
      if (users.length === 0) return;
      const rows = await this.db.interaction.findMany({
        where: {
          userId: { in: users.map((u) => u.id) },
          eventTime: { lte: this.watermark },
          ingestedAt: { lte: this.asOf },
        },
        orderBy: [{ userId: 'asc' }, { eventTime: 'asc' }, { seq: 'asc' }],
        select: { userId: true, itemId: true, value: true, eventTime: true },
      });
      const byUser = new Map<string, Rating[]>();
      for (const r of rows) {
        const list = byUser.get(r.userId) ?? [];
        list.push({ itemId: r.itemId, value: r.value, time: r.eventTime });
        byUser.set(r.userId, list);
      }
      for (const user of users) {
        const ratings = byUser.get(user.id);
        if (ratings) yield { user, ratings };
      }
      if (users.length < this.pageSize) return;
      after = users[users.length - 1].id;
    }
  }

  /**
   * Few-shot tasks (protocol P1 sampling): per user, the ratings passing `filter`; users with fewer
   * than `minRatings` are dropped, more than `maxRatings` keep a seeded random subset, and
   * `querySize` seeded random ratings form the query set. Deterministic per (seed, user id).
   */
  async *tasks(options: TaskOptions = {}): AsyncGenerator<Task> {
    const min = options.minRatings ?? 13;
    const max = options.maxRatings ?? 100;
    const q = options.querySize ?? 10;
    if (!(Number.isInteger(q) && q >= 1))
      throw new ValidationError('querySize', `${q} must be a positive integer`);
    if (!(Number.isInteger(min) && min > q))
      throw new ValidationError('minRatings', `${min} must exceed querySize ${q}`);
    if (!(Number.isInteger(max) && max >= min))
      throw new ValidationError('maxRatings', `${max} must be >= minRatings`);
    for await (const { user, ratings } of this.interactionsByUser()) {
      const kept = options.filter ? ratings.filter((r) => options.filter!(r, user)) : ratings;
      if (kept.length < min || (options.users && !options.users(user, kept))) continue;
      const rng = xoroshiro128plus(seedFor(options.seed ?? 0, user.id));
      const shuffled = kept.slice();
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = unsafeUniformIntDistribution(0, i, rng);
        [shuffled[i], shuffled[j]] = [shuffled[j], shuffled[i]];
      }
      const sample = shuffled.slice(0, max);
      yield { user, query: sample.slice(0, q), support: sample.slice(q) };
    }
  }
}

/** Mixes the run seed with the user id (FNV-1a), so a user's task does not depend on page order. */
function seedFor(seed: number, id: string): number {
  let h = 0x811c9dc5 ^ (seed | 0);
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return h | 0;
}
