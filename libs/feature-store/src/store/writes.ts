import { ValidationError } from '../errors';
import type { Tx } from '../db/client';
import { sqlTime, type Dialect, type SqlValue } from '../db/sql';
import type { UserRecord } from '../types';
import { encodeFeatures, featureKey, type FeatureRow } from './feature-rows';
import type { IngestResult, InteractionInput, ItemRecordInput } from './inputs';

const IN_CHUNK = 5000;

function chunks<T>(xs: readonly T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

interface EntityTable {
  table: 'users' | 'items';
  featureTable: 'user_features' | 'item_features';
  fk: 'userId' | 'itemId';
}
const USERS: EntityTable = { table: 'users', featureTable: 'user_features', fk: 'userId' };
const ITEMS: EntityTable = { table: 'items', featureTable: 'item_features', fk: 'itemId' };

async function currentFeatures(tx: Tx, t: EntityTable, ids: string[]): Promise<Map<string, FeatureRow[]>> {
  const byId = new Map<string, FeatureRow[]>();
  for (const part of chunks(ids)) {
    const rows =
      t === USERS
        ? (await tx.userFeature.findMany({ where: { userId: { in: part }, validTo: null } })).map((r) => ({
            ...r,
            owner: r.userId,
          }))
        : (await tx.itemFeature.findMany({ where: { itemId: { in: part }, validTo: null } })).map((r) => ({
            ...r,
            owner: r.itemId,
          }));
    for (const r of rows) {
      const list = byId.get(r.owner) ?? [];
      list.push({ field: r.field, kind: r.kind, position: r.position, text: r.text, number: r.number });
      byId.set(r.owner, list);
    }
  }
  return byId;
}

/** Closes the current feature rows of `ids` and writes `rows` as the new version. */
async function replaceFeatures(
  tx: Tx,
  d: Dialect,
  t: EntityTable,
  changed: { id: string; rows: FeatureRow[] }[],
  now: Date,
): Promise<void> {
  for (const part of chunks(changed)) {
    await tx.$executeRawUnsafe(
      `UPDATE "${t.featureTable}" SET "validTo" = ${d.provider === 'sqlite' ? '?' : '$1::timestamp'} WHERE "validTo" IS NULL AND "${t.fk}" IN (${d.list(part.length, 1)})`,
      sqlTime(now),
      ...part.map((c) => c.id),
    );
  }
  const values: SqlValue[][] = [];
  for (const c of changed) {
    for (const r of c.rows) values.push([c.id, r.field, r.kind, r.position, r.text, r.number, sqlTime(now)]);
  }
  await d.insertMany(
    tx,
    t.featureTable,
    [t.fk, 'field', 'kind', 'position', 'text', 'number', 'validFrom'],
    values,
    '',
    ['', '', '', 'integer', '', 'double precision', 'timestamp'],
  );
}

/** Upserts users; only users whose features changed are written (a re-sent batch changes nothing). */
export async function writeUsers(
  tx: Tx,
  d: Dialect,
  users: readonly UserRecord[],
  now: Date,
): Promise<string[]> {
  const ids = users.map((u) => u.id);
  const existing = new Set<string>();
  for (const part of chunks(ids)) {
    for (const u of await tx.user.findMany({ where: { id: { in: part } }, select: { id: true } }))
      existing.add(u.id);
  }
  const current = await currentFeatures(tx, USERS, ids);
  const changed: { id: string; rows: FeatureRow[] }[] = [];
  for (const u of users) {
    const rows = encodeFeatures(u.features ?? {});
    if (!existing.has(u.id) || featureKey(rows) !== featureKey(current.get(u.id) ?? []))
      changed.push({ id: u.id, rows });
  }
  await d.insertMany(
    tx,
    'users',
    ['id', 'createdAt', 'updatedAt'],
    changed.map((c) => [c.id, sqlTime(now), sqlTime(now)]),
    'ON CONFLICT ("id") DO UPDATE SET "updatedAt" = excluded."updatedAt"',
    ['', 'timestamp', 'timestamp'],
  );
  await replaceFeatures(tx, d, USERS, changed, now);
  return changed.map((c) => c.id);
}

/** Upserts items (features, availability, status); unchanged items are left alone. */
export async function writeItems(
  tx: Tx,
  d: Dialect,
  items: readonly ItemRecordInput[],
  now: Date,
): Promise<string[]> {
  const ids = items.map((it) => it.id);
  const existing = new Map<string, { availableAt: Date | null; status: string }>();
  for (const part of chunks(ids)) {
    const rows = await tx.item.findMany({
      where: { id: { in: part } },
      select: { id: true, availableAt: true, status: true },
    });
    for (const r of rows) existing.set(r.id, r);
  }
  const current = await currentFeatures(tx, ITEMS, ids);
  const changedFeatures: { id: string; rows: FeatureRow[] }[] = [];
  const entityRows: SqlValue[][] = [];
  for (const it of items) {
    const before = existing.get(it.id);
    const availableAt = it.availableAt ?? before?.availableAt ?? now;
    const status = it.status ?? before?.status ?? 'active';
    const rows = encodeFeatures(it.features ?? {});
    const featuresChanged = !before || featureKey(rows) !== featureKey(current.get(it.id) ?? []);
    const lifecycleChanged =
      !before || before.status !== status || before.availableAt?.getTime() !== availableAt.getTime();
    if (featuresChanged) changedFeatures.push({ id: it.id, rows });
    if (featuresChanged || lifecycleChanged) {
      entityRows.push([it.id, sqlTime(now), sqlTime(now), sqlTime(availableAt), status]);
    }
  }
  await d.insertMany(
    tx,
    'items',
    ['id', 'createdAt', 'updatedAt', 'availableAt', 'status'],
    entityRows,
    'ON CONFLICT ("id") DO UPDATE SET "updatedAt" = excluded."updatedAt", "availableAt" = excluded."availableAt", "status" = excluded."status"',
    ['', 'timestamp', 'timestamp', 'timestamp', ''],
  );
  await replaceFeatures(tx, d, ITEMS, changedFeatures, now);
  return entityRows.map((r) => r[0] as string);
}

/**
 * Inserts interactions (duplicates by event id are skipped). Unknown items reject the batch;
 * unknown users are created without features when `createUsers` (a new user's first events), and
 * counted in `usersCreated`.
 */
export async function writeInteractions(
  tx: Tx,
  d: Dialect,
  rows: readonly InteractionInput[],
  now: Date,
  createUsers: boolean,
): Promise<IngestResult & { usersCreated: number }> {
  const itemIds = [...new Set(rows.map((r) => r.itemId))];
  const known = new Set<string>();
  for (const part of chunks(itemIds)) {
    for (const it of await tx.item.findMany({ where: { id: { in: part } }, select: { id: true } }))
      known.add(it.id);
  }
  const unknownItem = rows.findIndex((r) => !known.has(r.itemId));
  if (unknownItem >= 0) {
    throw new ValidationError(
      `interactions[${unknownItem}].itemId`,
      `unknown item "${rows[unknownItem].itemId}"`,
    );
  }
  const userIds = [...new Set(rows.map((r) => r.userId))];
  let usersCreated = 0;
  if (createUsers) {
    usersCreated = await d.insertMany(
      tx,
      'users',
      ['id', 'createdAt', 'updatedAt'],
      userIds.map((id) => [id, sqlTime(now), sqlTime(now)]),
      'ON CONFLICT ("id") DO NOTHING',
      ['', 'timestamp', 'timestamp'],
    );
  } else {
    const users = new Set<string>();
    for (const part of chunks(userIds)) {
      for (const u of await tx.user.findMany({ where: { id: { in: part } }, select: { id: true } }))
        users.add(u.id);
    }
    const unknownUser = rows.findIndex((r) => !users.has(r.userId));
    if (unknownUser >= 0) {
      throw new ValidationError(
        `interactions[${unknownUser}].userId`,
        `unknown user "${rows[unknownUser].userId}"`,
      );
    }
  }
  const ingested = await d.insertMany(
    tx,
    'interactions',
    ['eventId', 'userId', 'itemId', 'value', 'kind', 'eventTime', 'ingestedAt'],
    rows.map((r) => [
      r.eventId,
      r.userId,
      r.itemId,
      r.value,
      r.kind ?? 'rating',
      sqlTime(r.eventTime),
      sqlTime(now),
    ]),
    'ON CONFLICT ("eventId") DO NOTHING',
    ['', '', '', 'double precision', '', 'timestamp', 'timestamp'],
  );
  return { ingested, duplicates: rows.length - ingested, usersCreated };
}
