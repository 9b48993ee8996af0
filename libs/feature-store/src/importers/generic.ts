import { basename } from 'node:path';
import type { FeatureStore } from '../store/feature-store';
import type { InteractionInput, InteractionKind, ItemRecordInput } from '../store/inputs';
import type { FeatureValue, UserRecord } from '../types';
import { MAX_ID_LENGTH, MAX_TIME, MIN_TIME } from '../validate';
import { readLines } from './lines';
import { loadAll } from './load';
import { fileFormat, parseRecords, type SourceRecord } from './records';
import { RowErrors, type ImportOptions, type ImportReport } from './report';

/** Declared type of a feature column. */
export type DeclaredFieldType = 'categorical' | 'multi_categorical' | 'numeric';

/** A CSV/JSONL file of user or item features. */
export interface EntityFileSpec {
  path: string;
  /** Column with the entity id (default `id`). */
  idColumn?: string;
  /** The feature columns and their types; other columns are ignored. */
  fields: Record<string, DeclaredFieldType>;
  /** Separator of multi_categorical values inside a CSV cell (default `|`); JSONL may use arrays. */
  listSeparator?: string;
}

/** What `importGeneric` reads. Files are UTF-8 CSV (header row), TSV or JSONL. */
export interface GenericImportSpec {
  interactions: {
    path: string;
    /** Column names (defaults: user_id, item_id, value, timestamp, event_id). */
    columns?: { user?: string; item?: string; value?: string; time?: string; eventId?: string };
    /** Default `rating`. */
    kind?: InteractionKind;
    /** Event id prefix when the file has no event id column: `<source>:<user>:<item>:<time ms>`. */
    source?: string;
  };
  users?: EntityFileSpec;
  /** `availableAtColumn`: optional column with the item's release time. */
  items?: EntityFileSpec & { availableAtColumn?: string };
}

/** Unix seconds, unix milliseconds (> 1e11) or an ISO 8601 string. */
function parseTime(raw: unknown): Date | null {
  if (typeof raw === 'number' || (typeof raw === 'string' && /^\d+(\.\d+)?$/.test(raw.trim()))) {
    const n = Number(raw);
    const d = new Date(n > 1e11 ? n : n * 1000);
    return d.getTime() >= MIN_TIME && d.getTime() < MAX_TIME ? d : null;
  }
  if (typeof raw === 'string' && raw.trim() !== '') {
    const d = new Date(raw.trim());
    return !Number.isNaN(d.getTime()) && d.getTime() >= MIN_TIME && d.getTime() < MAX_TIME ? d : null;
  }
  return null;
}

/** An id cell: the id, or why it is not one (`missing` when absent or empty). */
type IdCell = { id: string } | { problem: string; missing: boolean };

function idOf(raw: unknown): IdCell {
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === ''))
    return { problem: 'is missing or empty', missing: true };
  let id: string;
  if (typeof raw === 'number' && Number.isFinite(raw)) id = String(raw);
  else if (typeof raw === 'string') id = raw.trim();
  else return { problem: `${JSON.stringify(raw)} is not a string or number`, missing: false };
  if (id.length > MAX_ID_LENGTH)
    return { problem: `is longer than ${MAX_ID_LENGTH} characters (${id.length})`, missing: false };
  return { id };
}

function entities(
  spec: EntityFileSpec,
  errors: RowErrors,
): { id: string; features: Record<string, FeatureValue>; rec: SourceRecord }[] {
  const file = spec.path;
  const idColumn = spec.idColumn ?? 'id';
  const sep = spec.listSeparator ?? '|';
  const out = [];
  const seen = new Set<string>();
  rows: for (const rec of parseRecords(file, readLines(file, 'utf8'), errors)) {
    const cell = idOf(rec.values[idColumn]);
    if ('problem' in cell) {
      errors.bad(file, rec.line, idColumn, cell.problem);
      continue;
    }
    const id = cell.id;
    if (seen.has(id)) {
      errors.bad(file, rec.line, idColumn, `"${id}" appears twice`);
      continue;
    }
    const features: Record<string, FeatureValue> = {};
    for (const [field, type] of Object.entries(spec.fields)) {
      const raw = rec.values[field];
      if (raw === undefined || raw === null || raw === '') {
        features[field] = type === 'multi_categorical' ? [] : null;
      } else if (type === 'numeric') {
        const n = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw.trim()) : NaN;
        if (!Number.isFinite(n)) {
          errors.bad(file, rec.line, field, `"${String(raw)}" is not a number`);
          continue rows;
        }
        features[field] = n;
      } else if (type === 'multi_categorical') {
        if (Array.isArray(raw) && raw.every((v) => typeof v === 'string')) features[field] = raw as string[];
        else if (typeof raw === 'string') features[field] = raw.split(sep).filter((v) => v !== '');
        else {
          errors.bad(file, rec.line, field, 'is not a list of strings');
          continue rows;
        }
      } else if (typeof raw === 'string' || typeof raw === 'number') features[field] = String(raw);
      else {
        errors.bad(file, rec.line, field, 'is not a categorical value');
        continue rows;
      }
    }
    seen.add(id);
    out.push({ id, features, rec });
  }
  return out;
}

/**
 * Imports interactions (and optional user/item feature files with declared field types) from
 * CSV/TSV/JSONL in one transaction. Without an items file, items are created without features
 * (available from their first interaction); with one, unknown item ids are errors. Users missing
 * from a users file are errors too; without one they are created without features.
 */
export async function importGeneric(
  store: FeatureStore,
  spec: GenericImportSpec,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const started = Date.now();
  // Unknown extensions fail before any file is read (an ImportError even with skipBadRows).
  for (const path of [spec.users?.path, spec.items?.path, spec.interactions.path]) {
    if (path !== undefined) fileFormat(path);
  }
  const errors = new RowErrors(options.skipBadRows ?? false);
  options.onProgress?.({ phase: 'parse', done: 0 });
  const users: UserRecord[] = spec.users
    ? entities(spec.users, errors).map(({ id, features }) => ({ id, features }))
    : [];
  const items: ItemRecordInput[] = [];
  if (spec.items) {
    const col = spec.items.availableAtColumn;
    for (const { id, features, rec } of entities(spec.items, errors)) {
      let availableAt: Date | undefined;
      if (col && rec.values[col] !== undefined && rec.values[col] !== '') {
        const t = parseTime(rec.values[col]);
        if (!t) {
          errors.bad(spec.items.path, rec.line, col, `"${String(rec.values[col])}" is not a time`);
          continue;
        }
        availableAt = t;
      }
      items.push({ id, features, ...(availableAt ? { availableAt } : {}) });
    }
  }
  const ic = spec.interactions;
  const file = ic.path;
  const col = {
    user: ic.columns?.user ?? 'user_id',
    item: ic.columns?.item ?? 'item_id',
    value: ic.columns?.value ?? 'value',
    time: ic.columns?.time ?? 'timestamp',
    eventId: ic.columns?.eventId ?? 'event_id',
  };
  const kind = ic.kind ?? 'rating';
  const [lo, hi] = kind === 'rating' ? store.ratingRange : [0, 1];
  const source = ic.source ?? basename(file).replace(/\.[^.]+$/, '');
  const knownUsers = spec.users ? new Set(users.map((u) => u.id)) : null;
  const knownItems = spec.items ? new Set(items.map((it) => it.id)) : null;
  const firstSeen = new Map<string, Date>();
  const interactions: InteractionInput[] = [];
  for (const rec of parseRecords(file, readLines(file, 'utf8'), errors)) {
    const v = rec.values;
    const user = idOf(v[col.user]);
    const item = idOf(v[col.item]);
    // An event id column, when present and non-empty, must hold a valid id (never silently replaced).
    const event = idOf(v[col.eventId]);
    const value =
      typeof v[col.value] === 'number'
        ? (v[col.value] as number)
        : Number(String(v[col.value] ?? '').trim() || NaN);
    const time = parseTime(v[col.time]);
    if ('problem' in user) errors.bad(file, rec.line, col.user, user.problem);
    else if ('problem' in item) errors.bad(file, rec.line, col.item, item.problem);
    else if ('problem' in event && !event.missing) errors.bad(file, rec.line, col.eventId, event.problem);
    else if (!Number.isFinite(value))
      errors.bad(file, rec.line, col.value, `"${String(v[col.value])}" is not a number`);
    else if (value < lo || value > hi)
      errors.bad(file, rec.line, col.value, `${kind} ${value} is outside ${lo}..${hi}`);
    else if (!time) errors.bad(file, rec.line, col.time, `"${String(v[col.time])}" is not a sane time`);
    else if (knownUsers && !knownUsers.has(user.id))
      errors.bad(file, rec.line, col.user, `unknown user "${user.id}"`);
    else if (knownItems && !knownItems.has(item.id))
      errors.bad(file, rec.line, col.item, `unknown item "${item.id}"`);
    else {
      const userId = user.id;
      const itemId = item.id;
      const eventId = 'id' in event ? event.id : `${source}:${userId}:${itemId}:${time.getTime()}`;
      interactions.push({ eventId, userId, itemId, value, kind, eventTime: time });
      const first = firstSeen.get(itemId);
      if (!first || time < first) firstSeen.set(itemId, time);
    }
  }
  if (!spec.items) {
    // Create only the items the store lacks, so existing items keep their features.
    const ids = [...firstSeen.keys()];
    const existing = new Set<string>();
    for (let i = 0; i < ids.length; i += 5000) {
      const rows = await store.prisma.item.findMany({
        where: { id: { in: ids.slice(i, i + 5000) } },
        select: { id: true },
      });
      for (const r of rows) existing.add(r.id);
    }
    for (const [id, t] of firstSeen) if (!existing.has(id)) items.push({ id, features: {}, availableAt: t });
  }
  return loadAll(
    store,
    { users, items, interactions, interactionCount: interactions.length },
    options,
    errors.rejected,
    started,
  );
}
