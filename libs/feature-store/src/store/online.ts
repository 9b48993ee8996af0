import { LRUCache } from 'lru-cache';
import type { Db } from '../db/client';
import {
  userWatermarkSql,
  type EntityFeatureRow,
  type HotReads,
  type UserWatermarkRow,
} from '../db/hot-reads';
import { ValidationError } from '../errors';
import { checkId, checkTime } from '../validate';
import type { Rating } from '../types';
import { decodeFeatures, type FeatureRow } from './feature-rows';
import type { ItemPageRequest, ItemStatus, ItemVersion, Page, StoredItem, StoredUser } from './inputs';
import { decodeCursor, encodeCursor, pageLimit } from './pages';

/**
 * What a user's adapted state depends on: changes whenever the user gets a new interaction or
 * their features are written (by any process: read from the database, never from the cache).
 */
export interface UserWatermark {
  /** Highest interaction sequence number of the user (0 when none). */
  sequence: number;
  /** When that interaction was ingested (null when none). */
  time: Date | null;
  count: number;
  /** When the user's row (features) was last written (null for an unknown user). */
  featuresUpdatedAt: Date | null;
}

/**
 * A cheap fingerprint of the item catalog: changes when an item is added, changed, retired or
 * becomes available (see {@link OnlineReads.itemsWatermark}).
 */
export interface ItemsWatermark {
  /** Items stored (any status). */
  count: number;
  /** The latest item write (null when there are no items). */
  latestUpdate: Date | null;
  /** Items whose availableAt is still after `asOf`: the count drops when one becomes available. */
  pending: number;
}

/** One interaction on an item, as item warm-up reads it. */
export interface ItemInteraction {
  userId: string;
  value: number;
  /** Event time. */
  time: Date;
  /** The interaction's sequence number (`Interaction.seq`). */
  sequence: number;
}

/** Options of {@link OnlineReads.itemInteractions}. */
export interface ItemInteractionsOptions {
  /** Most recent interactions returned per item: an integer in 1..1000. */
  perItem: number;
  /**
   * Only items with an interaction whose sequence is greater than this are returned (default 0:
   * any interaction). It selects which items are returned, not which of their interactions.
   */
  afterSequence?: number;
}

/** Most item ids accepted by {@link OnlineReads.itemInteractions} in one call. */
const MAX_ITEM_IDS = 10_000;
/** Ids per `IN (...)` list: stays well under SQLite's bound-parameter limit. */
const ITEM_ID_CHUNK = 500;
/** Largest value of the `Int` column `Interaction.seq`. */
const MAX_SEQUENCE = 2 ** 31 - 1;
/** Per-item reads in flight at once. */
const ITEM_READ_CONCURRENCY = 8;

/** A timestamp column read by raw SQL: a Date (PostgreSQL) or ISO text (SQLite), or null. */
function dateOrNull(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(String(v));
  if (Number.isNaN(d.getTime())) throw new Error(`unreadable timestamp from the database: ${String(v)}`);
  return d;
}

/** Cache settings: entries per kind and time-to-live (bounds staleness from other processes' writes). */
export interface CacheOptions {
  max?: number;
  ttlMs?: number;
}

type ItemRow = {
  id: string;
  availableAt: Date | null;
  status: string;
  createdAt: Date;
  updatedAt: Date;
  features: { field: string; kind: string; position: number; text: string | null; number: number | null }[];
};

function toItem(r: ItemRow): StoredItem {
  return {
    id: r.id,
    features: decodeFeatures(r.features),
    availableAt: r.availableAt ?? r.createdAt,
    status: r.status as ItemStatus,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

const currentFeatures = { features: { where: { validTo: null } } } as const;

/** A timestamp column the driver returned: a Date (pg) or ISO text (SQLite). */
function requiredDate(v: unknown): Date {
  const d = dateOrNull(v);
  if (!d) throw new Error('a timestamp the schema requires was null in the database');
  return d;
}

/**
 * Rows of the driver's entity-with-features join (one per current feature; one with null feature
 * columns for an entity without any), grouped per entity in first-seen order: each entity's first
 * row and its feature rows.
 */
function groupByEntity<R extends EntityFeatureRow>(rows: readonly R[]): { row: R; features: FeatureRow[] }[] {
  const byId = new Map<string, { row: R; features: FeatureRow[] }>();
  for (const r of rows) {
    let entry = byId.get(r.id);
    if (!entry) byId.set(r.id, (entry = { row: r, features: [] }));
    if (r.field !== null && r.kind !== null)
      entry.features.push({
        field: r.field,
        kind: r.kind,
        position: Number(r.position ?? 0),
        text: r.text,
        number: r.number === null ? null : Number(r.number),
      });
  }
  return [...byId.values()];
}

/**
 * The keyset condition of a page after `cursor` (a `[time, id]` cursor of this store) in
 * `(field, id)` order; no condition on the first page.
 */
function afterTimeAndId(field: 'availableAt' | 'updatedAt', cursor: string | null | undefined) {
  const after = decodeCursor(cursor, 2);
  if (!after) return {};
  const time = new Date(after[0]);
  if (Number.isNaN(time.getTime()))
    throw new ValidationError('page.cursor', 'is not a cursor returned by this store');
  return { OR: [{ [field]: { gt: time } }, { [field]: time, id: { gt: String(after[1]) } }] };
}

/**
 * Items available at `t`. The store always sets `availableAt` (the write time when the caller gives
 * none); a row written around the API with a null `availableAt` counts from its `createdAt`, as
 * `StoredItem.availableAt` reports it.
 */
function availableBy(t: Date) {
  return {
    OR: [{ availableAt: { lte: t } }, { availableAt: null, createdAt: { lte: t } }],
  };
}

/** Online reads with an in-process LRU cache; writers call `invalidate*` for the ids they touched. */
export class OnlineReads {
  private readonly users: LRUCache<string, StoredUser>;
  private readonly items: LRUCache<string, StoredItem>;
  private readonly recent: LRUCache<string, { limit: number; ratings: Rating[] }>;
  /** Each user's watermark as last read (see userWatermark), as many users as the caches hold. */
  private readonly marks: LRUCache<string, string>;

  constructor(
    private readonly db: Db,
    cache: CacheOptions = {},
    /** SQL dialect of `db`, for the raw statement of the hottest read (userWatermark). */
    private readonly sqlProvider: 'sqlite' | 'postgresql' = 'sqlite',
    /** The hottest read on the driver itself (see db/hot-reads.ts); without it, through Prisma. */
    protected readonly hot?: HotReads,
  ) {
    const opts = { max: cache.max ?? 10_000, ttl: cache.ttlMs ?? 30_000 };
    this.users = new LRUCache(opts);
    this.items = new LRUCache(opts);
    this.recent = new LRUCache(opts);
    this.marks = new LRUCache({ max: opts.max });
  }

  invalidateUsers(ids: Iterable<string>): void {
    for (const id of ids) {
      this.users.delete(id);
      this.recent.delete(id);
    }
  }

  invalidateItems(ids: Iterable<string>): void {
    for (const id of ids) this.items.delete(id);
  }

  invalidateInteractions(userIds: Iterable<string>): void {
    for (const id of userIds) this.recent.delete(id);
  }

  clear(): void {
    this.users.clear();
    this.items.clear();
    this.recent.clear();
  }

  /** Users by id, one query for all cache misses; absent ids are missing from the map. */
  async getUsers(ids: readonly string[]): Promise<Map<string, StoredUser>> {
    ids.forEach((id, i) => checkId(`ids[${i}]`, id));
    const out = new Map<string, StoredUser>();
    const misses = ids.filter((id) => {
      const hit = this.users.get(id);
      if (hit) out.set(id, hit);
      return !hit;
    });
    if (misses.length > 0) {
      const rows = await this.readUsers([...new Set(misses)]);
      for (const r of rows) {
        const user = {
          id: r.id,
          features: decodeFeatures(r.features),
          createdAt: r.createdAt,
          updatedAt: r.updatedAt,
        };
        this.users.set(r.id, user);
        out.set(r.id, user);
      }
    }
    return out;
  }

  /** Items by id (any status), one query for all cache misses. */
  async getItems(ids: readonly string[]): Promise<Map<string, StoredItem>> {
    ids.forEach((id, i) => checkId(`ids[${i}]`, id));
    const out = new Map<string, StoredItem>();
    const misses = ids.filter((id) => {
      const hit = this.items.get(id);
      if (hit) out.set(id, hit);
      return !hit;
    });
    if (misses.length > 0) {
      const rows = await this.readItems([...new Set(misses)]);
      for (const r of rows) {
        const item = toItem(r);
        this.items.set(r.id, item);
        out.set(r.id, item);
      }
    }
    return out;
  }

  /** The user's `limit` most recent interactions (event time) strictly before `before`, newest first. */
  async recentInteractions(userId: string, limit: number, before?: Date): Promise<Rating[]> {
    checkId('userId', userId);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
      throw new ValidationError('limit', `${String(limit)} is not an integer in 1..10000`);
    }
    checkTime('before', before, true);
    if (!before) {
      const hit = this.recent.get(userId);
      if (hit && hit.limit >= limit) return hit.ratings.slice(0, limit);
    }
    const ratings =
      this.hot && !before
        ? (await this.hot.recent(userId, limit)).map((r) => ({
            itemId: r.itemId,
            value: Number(r.value),
            time: requiredDate(r.eventTime),
          }))
        : (
            await this.db.interaction.findMany({
              where: { userId, ...(before ? { eventTime: { lt: before } } : {}) },
              orderBy: [{ eventTime: 'desc' }, { seq: 'desc' }],
              take: limit,
              select: { itemId: true, value: true, eventTime: true },
            })
          ).map((r) => ({ itemId: r.itemId, value: r.value, time: r.eventTime }));
    if (!before) this.recent.set(userId, { limit, ratings });
    return ratings.slice();
  }

  /** Rows of the users `ids` with their current features: on the driver when the store has it. */
  private async readUsers(ids: string[]): Promise<Omit<ItemRow, 'availableAt' | 'status'>[]> {
    if (!this.hot) return this.db.user.findMany({ where: { id: { in: ids } }, include: currentFeatures });
    return groupByEntity(await this.hot.users(ids)).map(({ row, features }) => ({
      id: row.id,
      createdAt: requiredDate(row.createdAt),
      updatedAt: requiredDate(row.updatedAt),
      features,
    }));
  }

  /** Rows of the items `ids` (any status) with their current features, as `readUsers`. */
  private async readItems(ids: string[]): Promise<ItemRow[]> {
    if (!this.hot) return this.db.item.findMany({ where: { id: { in: ids } }, include: currentFeatures });
    return groupByEntity(await this.hot.items(ids)).map(({ row, features }) => ({
      id: row.id,
      availableAt: dateOrNull(row.availableAt),
      status: row.status,
      createdAt: requiredDate(row.createdAt),
      updatedAt: requiredDate(row.updatedAt),
      features,
    }));
  }

  /**
   * The user's latest ingestion (sequence and time), interaction count and feature write, read from
   * the database: a cache key for per-user adapted state. When it differs from the one this store
   * read last for the user (a write by another process, or a user not seen for a while), the
   * cached features and history of the user are dropped, so reads made after it are at least as
   * new as the watermark it returned.
   */
  async userWatermark(userId: string): Promise<UserWatermark> {
    checkId('userId', userId);
    // The serving hot path (every request for a stored user) reads this: on the driver itself
    // (db/hot-reads.ts) when the store has one, else one raw statement through Prisma. The newest
    // interaction is one probe of the [userId, seq] index and the count an index-only scan; a MAX
    // over ingestedAt would read every one of the user's rows.
    let row: UserWatermarkRow | undefined;
    if (this.hot) row = await this.hot.userWatermark(userId);
    else {
      const sqlite = this.sqlProvider === 'sqlite';
      // PostgreSQL reuses $1; SQLite binds the id four times.
      const rows = await this.db.$queryRawUnsafe<UserWatermarkRow[]>(
        userWatermarkSql(sqlite ? '?' : '$1'),
        ...(sqlite ? [userId, userId, userId, userId] : [userId]),
      );
      row = rows[0];
    }
    const mark: UserWatermark = {
      sequence: Number(row?.sequence ?? 0),
      time: dateOrNull(row?.time),
      count: Number(row?.count ?? 0),
      featuresUpdatedAt: dateOrNull(row?.featuresUpdatedAt),
    };
    const key = `${mark.sequence}.${mark.count}.${mark.featuresUpdatedAt?.getTime() ?? 0}`;
    if (this.marks.get(userId) !== key) {
      this.invalidateUsers([userId]);
      this.marks.set(userId, key);
    }
    return mark;
  }

  /**
   * The highest interaction sequence number in the store (0 when there are none), read from the
   * database (never the cache). Sequences only grow, so a caller that remembers the value sees
   * whether any process ingested anything since (a duplicate `eventId` ingests nothing and leaves
   * it unchanged). Used by item warm-up in serving as its cheap "anything new?" check before
   * {@link OnlineReads.itemInteractions}.
   *
   * One primary-key lookup (`ORDER BY seq DESC LIMIT 1`). Not `aggregate({ _max: { seq } })`:
   * Prisma wraps that in a `LIMIT`/`OFFSET` subquery that scans the whole table on both backends.
   */
  async interactionSequence(): Promise<number> {
    const last = await this.db.interaction.findFirst({ orderBy: { seq: 'desc' }, select: { seq: true } });
    return last?.seq ?? 0;
  }

  /**
   * For item warm-up (serving refreshes the ID embedding of cold items from their first
   * interactions): for each of `itemIds` that has at least one interaction with a sequence greater
   * than `afterSequence` (default 0: any), that item's `perItem` most recent interactions (event
   * time, newest first; ties newest sequence first). The list holds all of the item's recent
   * interactions, not only those after `afterSequence`, which only selects the items that got
   * something new. Items without such an interaction (including unknown ids) are absent from the
   * map. Read from the database (never the cache).
   *
   * One grouped query per 500 ids finds the qualifying items, then one indexed query per
   * qualifying item (a few at a time). Ids are checked like every id; at most 10,000 ids,
   * `perItem` an integer in 1..1000, `afterSequence` an integer >= 0, else `ValidationError`.
   */
  async itemInteractions(
    itemIds: readonly string[],
    options: ItemInteractionsOptions,
  ): Promise<Map<string, ItemInteraction[]>> {
    if (!Array.isArray(itemIds)) throw new ValidationError('itemIds', 'must be an array of item ids');
    if (itemIds.length > MAX_ITEM_IDS) {
      throw new ValidationError('itemIds', `has ${itemIds.length} ids; at most ${MAX_ITEM_IDS} per call`);
    }
    itemIds.forEach((id, i) => checkId(`itemIds[${i}]`, id));
    const perItem: unknown = options?.perItem;
    const afterSequence: unknown = options?.afterSequence ?? 0;
    if (typeof perItem !== 'number' || !Number.isInteger(perItem) || perItem < 1 || perItem > 1000) {
      throw new ValidationError('options.perItem', `${String(perItem)} is not an integer in 1..1000`);
    }
    if (typeof afterSequence !== 'number' || !Number.isSafeInteger(afterSequence) || afterSequence < 0) {
      throw new ValidationError('options.afterSequence', `${String(afterSequence)} is not an integer >= 0`);
    }
    const out = new Map<string, ItemInteraction[]>();
    const unique = [...new Set(itemIds)];
    // `seq` is a 32-bit `Int` column: nothing can come after its maximum (and PostgreSQL would
    // reject a larger bound as out of range).
    if (unique.length === 0 || afterSequence >= MAX_SEQUENCE) return out;

    const qualifying = new Set<string>();
    for (let i = 0; i < unique.length; i += ITEM_ID_CHUNK) {
      const groups = await this.db.interaction.groupBy({
        by: ['itemId'],
        where: { itemId: { in: unique.slice(i, i + ITEM_ID_CHUNK) }, seq: { gt: afterSequence } },
      });
      for (const g of groups) qualifying.add(g.itemId);
    }
    // In the caller's order (first occurrence).
    const selected = unique.filter((id) => qualifying.has(id));
    for (let i = 0; i < selected.length; i += ITEM_READ_CONCURRENCY) {
      const batch = selected.slice(i, i + ITEM_READ_CONCURRENCY);
      const lists = await Promise.all(
        batch.map((itemId) =>
          this.db.interaction.findMany({
            where: { itemId },
            orderBy: [{ eventTime: 'desc' }, { seq: 'desc' }],
            take: perItem,
            select: { userId: true, value: true, eventTime: true, seq: true },
          }),
        ),
      );
      batch.forEach((itemId, k) =>
        out.set(
          itemId,
          lists[k].map((r) => ({ userId: r.userId, value: r.value, time: r.eventTime, sequence: r.seq })),
        ),
      );
    }
    return out;
  }

  /**
   * The catalog's fingerprint as of `asOf` (default now), from the database (never the cache):
   * a replica that keeps the catalog in memory compares it to see other processes' item writes.
   * Two indexed aggregates plus a count of not-yet-available items.
   */
  async itemsWatermark(asOf: Date = new Date()): Promise<ItemsWatermark> {
    checkTime('asOf', asOf);
    // The latest write by ORDER BY ... LIMIT 1 on the updatedAt index: Prisma sends
    // aggregate({ _max }) as MAX over a subquery, which reads every row.
    const [count, latest, pending] = await Promise.all([
      this.db.item.count(),
      this.db.item.findFirst({ orderBy: { updatedAt: 'desc' }, select: { updatedAt: true } }),
      this.db.item.count({ where: { availableAt: { gt: asOf } } }),
    ]);
    return { count, latestUpdate: latest?.updatedAt ?? null, pending };
  }

  /**
   * Active items that became available in `[since, asOf]` (`asOf` defaults to now: items whose
   * `availableAt` is still in the future are not returned yet), oldest first, page by page.
   */
  async newItemsSince(since: Date, page?: ItemPageRequest): Promise<Page<StoredItem>> {
    checkTime('since', since);
    const asOf = checkTime('page.asOf', page?.asOf, true) ?? new Date();
    const limit = pageLimit(page);
    const rows = await this.db.item.findMany({
      where: {
        status: 'active',
        availableAt: { gte: since, lte: asOf },
        ...afterTimeAndId('availableAt', page?.cursor),
      },
      orderBy: [{ availableAt: 'asc' }, { id: 'asc' }],
      take: limit + 1,
      include: currentFeatures,
    });
    const items = rows.slice(0, limit).map(toItem);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: rows.length > limit ? encodeCursor([last.availableAt.toISOString(), last.id]) : null,
    };
  }

  /**
   * The version (`updatedAt`) and status of every item written (created, changed or retired) at or
   * after `since`, oldest write first (ties by id), page by page, from the database (on the
   * updatedAt index, no features read): a replica that keeps the catalog in memory compares these
   * with the versions it holds and reads (`getItems`) only the items that differ.
   */
  async itemVersionsSince(since: Date, page?: ItemPageRequest): Promise<Page<ItemVersion>> {
    checkTime('since', since);
    const limit = pageLimit(page);
    const rows = await this.db.item.findMany({
      where: { updatedAt: { gte: since }, ...afterTimeAndId('updatedAt', page?.cursor) },
      orderBy: [{ updatedAt: 'asc' }, { id: 'asc' }],
      take: limit + 1,
      select: { id: true, updatedAt: true, status: true },
    });
    const items = rows
      .slice(0, limit)
      .map((r) => ({ id: r.id, updatedAt: r.updatedAt, status: r.status as ItemStatus }));
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: rows.length > limit ? encodeCursor([last.updatedAt.toISOString(), last.id]) : null,
    };
  }

  /**
   * Active items available at `asOf` (default now; `availableAt <= asOf`) in id order, page by
   * page: the "all active items" candidates. Items released in the future appear once their
   * `availableAt` has passed.
   */
  async activeItems(page?: ItemPageRequest): Promise<Page<StoredItem>> {
    const asOf = checkTime('page.asOf', page?.asOf, true) ?? new Date();
    const limit = pageLimit(page);
    const after = decodeCursor(page?.cursor, 1);
    const rows = await this.db.item.findMany({
      where: {
        status: 'active',
        ...availableBy(asOf),
        ...(after ? { id: { gt: String(after[0]) } } : {}),
      },
      orderBy: { id: 'asc' },
      take: limit + 1,
      include: currentFeatures,
    });
    const items = rows.slice(0, limit).map(toItem);
    return { items, nextCursor: rows.length > limit ? encodeCursor([items[items.length - 1].id]) : null };
  }
}
