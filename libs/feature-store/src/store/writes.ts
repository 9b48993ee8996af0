import { ValidationError } from '../errors';
import type { SqlRunner } from '../db/runner';
import { sqlTime, toDate, toNumber, type SqlValue } from '../db/sql';
import type { UserRecord } from '../types';
import { encodeFeatures, featureKey, type FeatureRow } from './feature-rows';
import type { IngestResult, InteractionInput, ItemRecordInput } from './inputs';

const IN_CHUNK = 5000;

function chunks<T>(xs: readonly T[], size = IN_CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** Rows of `SELECT <columns> FROM <table> WHERE <column> IN (ids) [AND <where>]`, chunked. */
async function selectIn<T>(
  db: SqlRunner,
  table: string,
  columns: string,
  column: string,
  ids: readonly string[],
  where = '',
): Promise<T[]> {
  const out: T[] = [];
  for (const part of chunks(ids)) {
    const sql = `SELECT ${columns} FROM "${table}" WHERE "${column}" IN (${db.dialect.list(part.length)})${where}`;
    out.push(...(await db.query<T>(sql, part)));
  }
  return out;
}

/** Which of `ids` are stored in `table`. */
async function existingIds(
  db: SqlRunner,
  table: 'users' | 'items',
  ids: readonly string[],
): Promise<Set<string>> {
  return new Set((await selectIn<{ id: string }>(db, table, '"id"', 'id', ids)).map((r) => r.id));
}

interface EntityTable {
  table: 'users' | 'items';
  featureTable: 'user_features' | 'item_features';
  fk: 'userId' | 'itemId';
}
const USERS: EntityTable = { table: 'users', featureTable: 'user_features', fk: 'userId' };
const ITEMS: EntityTable = { table: 'items', featureTable: 'item_features', fk: 'itemId' };

async function currentFeatures(
  db: SqlRunner,
  t: EntityTable,
  ids: string[],
): Promise<Map<string, FeatureRow[]>> {
  const byId = new Map<string, FeatureRow[]>();
  const rows = await selectIn<FeatureRow & { owner: string }>(
    db,
    t.featureTable,
    `"${t.fk}" AS "owner", "field", "kind", "position", "text", "number"`,
    t.fk,
    ids,
    ' AND "validTo" IS NULL',
  );
  for (const r of rows) {
    const list = byId.get(r.owner) ?? [];
    list.push({
      field: r.field,
      kind: r.kind,
      position: toNumber(r.position) ?? 0,
      text: r.text,
      number: toNumber(r.number),
    });
    byId.set(r.owner, list);
  }
  return byId;
}

/** Closes the current feature rows of `ids` and writes `rows` as the new version. */
async function replaceFeatures(
  db: SqlRunner,
  t: EntityTable,
  changed: { id: string; rows: FeatureRow[] }[],
  now: Date,
): Promise<void> {
  const d = db.dialect;
  for (const part of chunks(changed)) {
    await db.execute(
      `UPDATE "${t.featureTable}" SET "validTo" = ${d.provider === 'sqlite' ? '?' : '$1::timestamp'} WHERE "validTo" IS NULL AND "${t.fk}" IN (${d.list(part.length, 1)})`,
      [sqlTime(now), ...part.map((c) => c.id)],
    );
  }
  const values: SqlValue[][] = [];
  for (const c of changed) {
    for (const r of c.rows) values.push([c.id, r.field, r.kind, r.position, r.text, r.number, sqlTime(now)]);
  }
  await d.insertMany(
    db,
    t.featureTable,
    [t.fk, 'field', 'kind', 'position', 'text', 'number', 'validFrom'],
    values,
    '',
    ['', '', '', 'integer', '', 'double precision', 'timestamp'],
  );
}

/** Upserts users; only users whose features changed are written (a re-sent batch changes nothing). */
export async function writeUsers(db: SqlRunner, users: readonly UserRecord[], now: Date): Promise<string[]> {
  const ids = users.map((u) => u.id);
  const existing = await existingIds(db, 'users', ids);
  const current = await currentFeatures(db, USERS, ids);
  const changed: { id: string; rows: FeatureRow[] }[] = [];
  for (const u of users) {
    const rows = encodeFeatures(u.features ?? {});
    if (!existing.has(u.id) || featureKey(rows) !== featureKey(current.get(u.id) ?? []))
      changed.push({ id: u.id, rows });
  }
  await db.dialect.insertMany(
    db,
    'users',
    ['id', 'createdAt', 'updatedAt'],
    changed.map((c) => [c.id, sqlTime(now), sqlTime(now)]),
    'ON CONFLICT ("id") DO UPDATE SET "updatedAt" = excluded."updatedAt"',
    ['', 'timestamp', 'timestamp'],
  );
  await replaceFeatures(db, USERS, changed, now);
  return changed.map((c) => c.id);
}

/** Upserts items (features, availability, status); unchanged items are left alone. */
export async function writeItems(
  db: SqlRunner,
  items: readonly ItemRecordInput[],
  now: Date,
): Promise<string[]> {
  const ids = items.map((it) => it.id);
  const existing = new Map<string, { availableAt: Date | null; status: string }>();
  const rows = await selectIn<{ id: string; availableAt: unknown; status: string }>(
    db,
    'items',
    '"id", "availableAt", "status"',
    'id',
    ids,
  );
  for (const r of rows) existing.set(r.id, { availableAt: toDate(r.availableAt), status: r.status });
  const current = await currentFeatures(db, ITEMS, ids);
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
  await db.dialect.insertMany(
    db,
    'items',
    ['id', 'createdAt', 'updatedAt', 'availableAt', 'status'],
    entityRows,
    'ON CONFLICT ("id") DO UPDATE SET "updatedAt" = excluded."updatedAt", "availableAt" = excluded."availableAt", "status" = excluded."status"',
    ['', 'timestamp', 'timestamp', 'timestamp', ''],
  );
  await replaceFeatures(db, ITEMS, changedFeatures, now);
  return entityRows.map((r) => r[0] as string);
}

/**
 * Ids one transaction has already checked: items known to exist and users known to be stored, so
 * an import's later batches do not ask again (nothing deletes them within the transaction).
 */
export interface CheckedIds {
  items: Set<string>;
  users: Set<string>;
}

/**
 * Inserts interactions (duplicates by event id are skipped). Unknown items reject the batch;
 * unknown users are created without features when `createUsers` (a new user's first events), and
 * counted in `usersCreated`. `checked`, when given, carries what earlier batches of the same
 * transaction verified, and is extended with this batch's ids.
 */
export async function writeInteractions(
  db: SqlRunner,
  rows: readonly InteractionInput[],
  now: Date,
  createUsers: boolean,
  checked: CheckedIds = { items: new Set(), users: new Set() },
): Promise<IngestResult & { usersCreated: number }> {
  const d = db.dialect;
  const itemIds = [...new Set(rows.map((r) => r.itemId))].filter((id) => !checked.items.has(id));
  const known = await existingIds(db, 'items', itemIds);
  const unknownItem = rows.findIndex((r) => !checked.items.has(r.itemId) && !known.has(r.itemId));
  if (unknownItem >= 0) {
    throw new ValidationError(
      `interactions[${unknownItem}].itemId`,
      `unknown item "${rows[unknownItem].itemId}"`,
    );
  }
  const userIds = [...new Set(rows.map((r) => r.userId))].filter((id) => !checked.users.has(id));
  let usersCreated = 0;
  if (createUsers) {
    usersCreated = await d.insertMany(
      db,
      'users',
      ['id', 'createdAt', 'updatedAt'],
      userIds.map((id) => [id, sqlTime(now), sqlTime(now)]),
      'ON CONFLICT ("id") DO NOTHING',
      ['', 'timestamp', 'timestamp'],
    );
  } else {
    const users = await existingIds(db, 'users', userIds);
    const unknownUser = rows.findIndex((r) => !checked.users.has(r.userId) && !users.has(r.userId));
    if (unknownUser >= 0) {
      throw new ValidationError(
        `interactions[${unknownUser}].userId`,
        `unknown user "${rows[unknownUser].userId}"`,
      );
    }
  }
  for (const id of known) checked.items.add(id);
  for (const id of userIds) checked.users.add(id);
  const ingested = db.insertInteractions
    ? await db.insertInteractions(rows, now)
    : await insertInteractionValues(db, rows, now);
  return { ingested, duplicates: rows.length - ingested, usersCreated };
}

/** New interactions as multi-row INSERTs; event ids already stored are skipped. */
function insertInteractionValues(
  db: SqlRunner,
  rows: readonly InteractionInput[],
  now: Date,
): Promise<number> {
  const ingestedAt = sqlTime(now);
  const values = new Array<SqlValue>(rows.length * 7);
  let k = 0;
  for (const r of rows) {
    values[k++] = r.eventId;
    values[k++] = r.userId;
    values[k++] = r.itemId;
    values[k++] = r.value;
    values[k++] = r.kind ?? 'rating';
    values[k++] = sqlTime(r.eventTime);
    values[k++] = ingestedAt;
  }
  return db.dialect.insertFlat(
    db,
    'interactions',
    ['eventId', 'userId', 'itemId', 'value', 'kind', 'eventTime', 'ingestedAt'],
    values,
    'ON CONFLICT ("eventId") DO NOTHING',
    ['', '', '', 'double precision', '', 'timestamp', 'timestamp'],
  );
}
