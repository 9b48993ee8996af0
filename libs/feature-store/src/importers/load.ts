import { inImportSession } from '../db/import-session';
import { currentProfile, mergeProfile, storeProfile, type DatasetProfile } from '../store/dataset-profile';
import type { FeatureStore } from '../store/feature-store';
import type { InteractionInput, ItemRecordInput } from '../store/inputs';
import { validateInteractions, validateItems, validateUsers } from '../store/validate-inputs';
import { writeInteractions, writeItems, writeUsers, type CheckedIds } from '../store/writes';
import type { FeatureRecord, UserRecord } from '../types';
import type { ImportOptions, ImportReport, RowErrors } from './report';

/** Data to write in one import: interactions may be a lazy stream (synthetic, generic files). */
export interface ImportData {
  users: readonly UserRecord[];
  items: readonly ItemRecordInput[];
  interactions: Iterable<InteractionInput> | AsyncIterable<InteractionInput>;
  interactionCount?: number;
  /** What the import declares the data to be (merged into the store's profile). */
  profile: DatasetProfile;
  /** Implicit rows left out because their weight was <= 0. */
  notPositive?: number;
}

const DAY_MS = 86_400_000;

/** Lets signal handlers run (better-sqlite3 never yields), then stops if the import was aborted. */
export async function checkpoint(signal: AbortSignal | undefined): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (signal?.aborted) {
    const err = new Error('import aborted; nothing was written', { cause: signal.reason });
    err.name = 'AbortError';
    throw err;
  }
}

/** Whether an entity has at least one feature value (null and empty lists do not count). */
export function hasFeatures(features: FeatureRecord | undefined): boolean {
  return Object.values(features ?? {}).some(
    (v) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0),
  );
}

/**
 * Writes an import in ONE transaction on its own connection, with the database's bulk path
 * (`db/import-session.ts`), batch by batch (validated like the write API), so a failure or an
 * abort leaves nothing behind; between batches it yields to the event loop so a Ctrl-C is seen on
 * SQLite too. The dataset profile is merged and stored in the same transaction. Progress is
 * reported after every batch.
 */
export async function loadAll(
  store: FeatureStore,
  data: ImportData,
  options: ImportOptions,
  errors: Pick<RowErrors, 'rejected' | 'count'>,
  started: number,
): Promise<ImportReport> {
  const size = options.batchSize ?? 5000;
  const signal = options.signal;
  const timeoutMs = options.timeoutMs ?? DAY_MS;
  const deadline = Date.now() + timeoutMs;
  const step = async () => {
    await checkpoint(signal);
    if (Date.now() > deadline) throw new Error(`import timed out after ${timeoutMs} ms; nothing was written`);
  };
  const report = (phase: 'items' | 'users' | 'interactions', done: number, total?: number) =>
    options.onProgress?.({ phase, done, ...(total !== undefined ? { total } : {}) });
  const userIds = new Set<string>();
  const itemIds = new Set<string>();
  let first = Infinity;
  let last = -Infinity;
  let read = 0;
  await checkpoint(signal);
  const result = await inImportSession(store.database, async (session) => {
    const db = session.runner;
    const stored = await currentProfile(db);
    const hasData = (await db.query('SELECT 1 AS "one" FROM "interactions" LIMIT 1')).length > 0;
    const profile = mergeProfile(stored, data.profile, hasData);
    const now = new Date();
    let items = 0;
    let users = 0;
    for (let i = 0; i < data.items.length; i += size) {
      await step();
      const batch = data.items.slice(i, i + size);
      validateItems(batch);
      items += (await writeItems(db, batch, now)).length;
      report('items', Math.min(i + size, data.items.length), data.items.length);
    }
    for (let i = 0; i < data.users.length; i += size) {
      await step();
      const batch = data.users.slice(i, i + size);
      validateUsers(batch);
      users += (await writeUsers(db, batch, now)).length;
      report('users', Math.min(i + size, data.users.length), data.users.length);
    }
    let ingested = 0;
    let duplicates = 0;
    let batch: InteractionInput[] = [];
    const checked: CheckedIds = { items: new Set(), users: new Set() };
    const flush = async () => {
      await step();
      validateInteractions(batch, profile.scale ?? store.ratingRange);
      const r = await writeInteractions(db, batch, now, true, checked);
      ingested += r.ingested;
      duplicates += r.duplicates;
      users += r.usersCreated;
      read += batch.length;
      batch = [];
      report('interactions', read, data.interactionCount);
    };
    await session.beforeInteractions(data.interactionCount ?? 0);
    for await (const row of data.interactions) {
      batch.push(row);
      userIds.add(row.userId);
      itemIds.add(row.itemId);
      const t = row.eventTime.getTime();
      if (t < first) first = t;
      if (t > last) last = t;
      if (batch.length >= size) await flush();
    }
    if (batch.length > 0) await flush();
    await session.afterInteractions(step);
    await storeProfile(db, profile);
    return { users, items, interactions: { ingested, duplicates }, profile };
  });
  store.clear();
  await store.datasetProfile(); // refresh the store's rating range
  for (const u of data.users) userIds.add(u.id);
  for (const it of data.items) itemIds.add(it.id);
  return {
    users: result.users,
    items: result.items,
    interactions: result.interactions,
    rejected: errors.rejected,
    badRows: errors.count,
    summary: {
      profile: result.profile,
      users: userIds.size,
      usersWithFeatures: data.users.filter((u) => hasFeatures(u.features)).length,
      items: itemIds.size,
      itemsWithFeatures: data.items.filter((it) => hasFeatures(it.features)).length,
      interactions: read,
      timeSpan: data.profile.hasTimes && read > 0 ? { first: new Date(first), last: new Date(last) } : null,
      notPositive: data.notPositive ?? 0,
    },
    durationMs: Date.now() - started,
  };
}
