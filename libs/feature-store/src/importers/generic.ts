import { basename } from 'node:path';
import { ImportError, ValidationError } from '../errors';
import { checkScale, NO_TIME, type DatasetProfile, type FeedbackKind } from '../store/dataset-profile';
import type { FeatureStore } from '../store/feature-store';
import type { InteractionInput, ItemRecordInput } from '../store/inputs';
import type { FeatureValue, UserRecord } from '../types';
import { MAX_ID_LENGTH, MAX_TIME, MIN_TIME, RATING_RANGE } from '../validate';
import { checkpoint, loadAll } from './load';
import {
  fileFormat,
  openTable,
  requireColumns,
  type SourceRecord,
  type Table,
  type TableFormat,
} from './records';
import { RowErrors, type ImportOptions, type ImportReport } from './report';

/**
 * Declared type of a feature column. `text` (free text: titles, descriptions) is stored as the
 * string it is, as a categorical value is; training reads it as a bag of words.
 */
export type DeclaredFieldType = 'categorical' | 'multi_categorical' | 'numeric' | 'text';

/** A CSV/JSONL file of user or item features. */
export interface EntityFileSpec extends TableFormat {
  path: string;
  /** Column with the entity id (default `id`). */
  idColumn?: string;
  /** The feature columns and their types (may be empty: ids only); other columns are ignored. */
  fields: Record<string, DeclaredFieldType>;
  /** Separator of multi_categorical values inside a CSV cell (default `|`); JSONL may use arrays. */
  listSeparator?: string;
}

/** The interactions file of a generic import. */
export interface InteractionFileSpec extends TableFormat {
  path: string;
  /**
   * Column names (defaults: user_id, item_id, value, timestamp, event_id). `weight` (implicit data
   * only) defaults to the value column when the file has one.
   */
  columns?: {
    user?: string;
    item?: string;
    value?: string;
    time?: string;
    eventId?: string;
    weight?: string;
  };
  /**
   * `explicit` (default): the value column holds ratings on `scale`. `implicit`: every row is a
   * positive interaction, stored as value 1 of kind `implicit`; rows whose weight is <= 0 are left
   * out (not positives), the weight is not stored.
   */
  kind?: FeedbackKind;
  /** Declared rating scale of explicit data (default [1, 5]); ratings outside it are bad rows. */
  scale?: [number, number];
  /** Event id prefix when the file has no event id column: `<source>:<user>:<item>[:<time ms>]`. */
  source?: string;
}

/** What `importGeneric` reads. Files are UTF-8 CSV (header row; any one-character delimiter) or JSONL. */
export interface GenericImportSpec {
  interactions: InteractionFileSpec;
  /** The dataset's name in the store's profile (report label); default: the interactions file's base name. */
  name?: string;
  users?: EntityFileSpec;
  /** `availableAtColumn`: optional column with the item's release time. */
  items?: EntityFileSpec & { availableAtColumn?: string };
}

/** A file's base name without its extension (`data/user_artists.dat` -> `user_artists`). */
function datasetNameOf(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/\.[^.]*$/, '') || base;
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

const empty = (raw: unknown) =>
  raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '');

function parseNumber(raw: unknown): number {
  if (typeof raw === 'number') return raw;
  return typeof raw === 'string' && raw.trim() !== '' ? Number(raw.trim()) : NaN;
}

/** An id cell: the id, or why it is not one (`missing` when absent or empty). */
type IdCell = { id: string } | { problem: string; missing: boolean };

function idOf(raw: unknown): IdCell {
  if (empty(raw)) return { problem: 'is missing or empty', missing: true };
  let id: string;
  if (typeof raw === 'number' && Number.isFinite(raw)) id = String(raw);
  else if (typeof raw === 'string') id = raw.trim();
  else return { problem: `${JSON.stringify(raw)} is not a string or number`, missing: false };
  if (id.length > MAX_ID_LENGTH)
    return { problem: `is longer than ${MAX_ID_LENGTH} characters (${id.length})`, missing: false };
  return { id };
}

interface Entity {
  id: string;
  features: Record<string, FeatureValue>;
  rec: SourceRecord;
}

async function entities(
  spec: EntityFileSpec,
  errors: RowErrors,
  signal: AbortSignal | undefined,
  extraColumns: string[] = [],
): Promise<Entity[]> {
  const table = await openTable(spec.path, spec);
  const idColumn = spec.idColumn ?? 'id';
  const columns = [idColumn, ...Object.keys(spec.fields), ...extraColumns];
  requireColumns(
    table,
    columns,
    columns.map((c) => `"${c}"`),
  );
  const sep = spec.listSeparator ?? '|';
  const out: Entity[] = [];
  const seen = new Set<string>();
  for await (const batch of table.records(errors)) {
    await checkpoint(signal);
    rows: for (const rec of batch) {
      const cell = idOf(rec.values[idColumn]);
      if ('problem' in cell) {
        errors.bad(table.file, rec.line, idColumn, cell.problem);
        continue;
      }
      const id = cell.id;
      if (seen.has(id)) {
        errors.bad(table.file, rec.line, idColumn, `"${id}" appears twice`);
        continue;
      }
      const features: Record<string, FeatureValue> = {};
      for (const [field, type] of Object.entries(spec.fields)) {
        const raw = rec.values[field];
        if (raw === undefined || raw === null || raw === '') {
          features[field] = type === 'multi_categorical' ? [] : null;
        } else if (type === 'numeric') {
          const n = parseNumber(raw);
          if (!Number.isFinite(n)) {
            errors.bad(table.file, rec.line, field, `"${String(raw)}" is not a number`);
            continue rows;
          }
          features[field] = n;
        } else if (type === 'multi_categorical') {
          if (Array.isArray(raw) && raw.every((v) => typeof v === 'string'))
            features[field] = raw as string[];
          else if (typeof raw === 'string') features[field] = raw.split(sep).filter((v) => v !== '');
          else {
            errors.bad(table.file, rec.line, field, 'is not a list of strings');
            continue rows;
          }
        } else if (typeof raw === 'string' || typeof raw === 'number') features[field] = String(raw);
        else {
          errors.bad(
            table.file,
            rec.line,
            field,
            `is not a ${type === 'text' ? 'text' : 'categorical'} value`,
          );
          continue rows;
        }
      }
      seen.add(id);
      out.push({ id, features, rec });
    }
  }
  errors.finishFile(table.file);
  return out;
}

/** How the interaction rows of one file are read, decided from its header (or first JSONL record). */
class InteractionReader {
  readonly col: Required<Omit<NonNullable<InteractionFileSpec['columns']>, 'weight'>> & {
    weight: string | null;
  };
  readonly kind: FeedbackKind;
  readonly scale: [number, number] | null;
  /** Whether rows carry event times: the time column is in the CSV header / the first JSONL record. */
  hasTimes: boolean | null;
  private readonly source: string;

  constructor(
    private readonly table: Table,
    spec: InteractionFileSpec,
  ) {
    const c = spec.columns ?? {};
    this.kind = spec.kind ?? 'explicit';
    if (this.kind !== 'explicit' && this.kind !== 'implicit')
      throw new ValidationError('interactions.kind', `"${String(this.kind)}" is not explicit or implicit`);
    if (this.kind === 'implicit' && spec.scale)
      throw new ValidationError('interactions.scale', 'implicit data has no rating scale');
    if (this.kind === 'explicit' && c.weight)
      throw new ValidationError('interactions.columns.weight', 'a weight column is for implicit data only');
    this.scale =
      this.kind === 'explicit' ? checkScale(spec.scale ?? RATING_RANGE, 'interactions.scale') : null;
    const value = c.value ?? 'value';
    this.col = {
      user: c.user ?? 'user_id',
      item: c.item ?? 'item_id',
      value,
      time: c.time ?? 'timestamp',
      eventId: c.eventId ?? 'event_id',
      // Implicit: the named weight column, else the value column when there is one.
      weight: this.kind === 'explicit' ? null : (c.weight ?? value),
    };
    this.source = spec.source ?? basename(table.file).replace(/\.[^.]+$/, '');
    const header = table.header;
    // A named time column is required; else the CSV header (JSONL: the first record) decides.
    this.hasTimes = c.time ? true : header ? header.includes(this.col.time) : null;
    if (header) {
      const required = [this.col.user, this.col.item];
      if (this.kind === 'explicit') required.push(this.col.value);
      if (c.weight) required.push(c.weight);
      if (c.time) required.push(c.time);
      const expected = [
        `"${this.col.user}"`,
        `"${this.col.item}"`,
        this.kind === 'explicit'
          ? `"${this.col.value}" (the rating)`
          : `optionally "${this.col.weight}" (the weight)`,
        `optionally "${this.col.time}" (the event time) and "${this.col.eventId}"`,
      ];
      requireColumns(table, required, expected);
    }
  }

  /** The interaction of one record, 'not-positive' (implicit weight <= 0), or null (reported as bad). */
  parse(rec: SourceRecord, errors: RowErrors): InteractionInput | 'not-positive' | null {
    const v = rec.values;
    const col = this.col;
    const bad = (field: string, message: string): null => {
      errors.bad(this.table.file, rec.line, field, message);
      return null;
    };
    const user = idOf(v[col.user]);
    if ('problem' in user) return bad(col.user, user.problem);
    const item = idOf(v[col.item]);
    if ('problem' in item) return bad(col.item, item.problem);
    // An event id cell, when present and non-empty, must hold a valid id (never silently replaced).
    const event = idOf(v[col.eventId]);
    if ('problem' in event && !event.missing) return bad(col.eventId, event.problem);
    let value = 1;
    if (this.scale) {
      value = parseNumber(v[col.value]);
      if (!Number.isFinite(value)) return bad(col.value, `"${String(v[col.value])}" is not a number`);
      const [lo, hi] = this.scale;
      if (value < lo || value > hi) return bad(col.value, `rating ${value} is outside ${lo}..${hi}`);
    }
    // JSONL: the first record decides whether the file has times.
    if (this.hasTimes === null) this.hasTimes = !empty(v[col.time]);
    let time = NO_TIME;
    if (this.hasTimes) {
      const t = parseTime(v[col.time]);
      if (!t)
        return bad(
          col.time,
          empty(v[col.time]) ? 'is missing or empty' : `"${String(v[col.time])}" is not a sane time`,
        );
      time = t;
    } else if (!empty(v[col.time])) {
      return bad(
        col.time,
        'the first row has no time, so no row may have one (give every row a time, or none)',
      );
    }
    if (col.weight !== null && v[col.weight] !== undefined) {
      const w = parseNumber(v[col.weight]);
      if (!Number.isFinite(w)) return bad(col.weight, `"${String(v[col.weight])}" is not a number`);
      if (w <= 0) return 'not-positive';
    }
    const userId = user.id;
    const itemId = item.id;
    const eventId =
      'id' in event
        ? event.id
        : `${this.source}:${userId}:${itemId}${this.hasTimes ? `:${time.getTime()}` : ''}`;
    return {
      eventId,
      userId,
      itemId,
      value,
      kind: this.kind === 'explicit' ? 'rating' : 'implicit',
      eventTime: time,
    };
  }
}

/**
 * Imports interactions (and optional user/item feature files with declared field types) from
 * CSV/TSV/JSONL in one transaction, streaming the interactions file twice (check, then write) in
 * bounded memory. Users and items that the feature files lack are created without features; items
 * new to the store without a declared availability are available from their first interaction.
 * Declares the dataset profile (kind, scale, times) in the store.
 */
export async function importGeneric(
  store: FeatureStore,
  spec: GenericImportSpec,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const started = Date.now();
  const signal = options.signal;
  // Unknown extensions fail before any file is read (an ImportError even with skipBadRows).
  for (const f of [spec.users, spec.items, spec.interactions]) if (f) fileFormat(f.path, f);
  const errors = new RowErrors(options.skipBadRows ?? false, options.maxBadRows);
  const table = await openTable(spec.interactions.path, spec.interactions);
  const reader = new InteractionReader(table, spec.interactions);
  options.onProgress?.({ phase: 'parse', done: 0, total: table.size });

  const users: UserRecord[] = spec.users
    ? (await entities(spec.users, errors, signal)).map(({ id, features }) => ({ id, features }))
    : [];
  const fileItems: ItemRecordInput[] = [];
  if (spec.items) {
    const col = spec.items.availableAtColumn;
    for (const { id, features, rec } of await entities(spec.items, errors, signal, col ? [col] : [])) {
      let availableAt: Date | undefined;
      if (col && !empty(rec.values[col])) {
        const t = parseTime(rec.values[col]);
        if (!t) {
          errors.bad(spec.items.path, rec.line, col, `"${String(rec.values[col])}" is not a time`);
          continue;
        }
        availableAt = t;
      }
      fileItems.push({ id, features, ...(availableAt ? { availableAt } : {}) });
    }
    errors.finishFile(spec.items.path);
  }

  // Pass 1: check every row (bad rows, their share), the first time of each item, the count.
  const firstSeen = new Map<string, number>();
  let count = 0;
  let notPositive = 0;
  for await (const batch of table.records(errors, (bytes) =>
    options.onProgress?.({ phase: 'parse', done: bytes, total: table.size }),
  )) {
    await checkpoint(signal);
    for (const rec of batch) {
      const row = reader.parse(rec, errors);
      if (row === 'not-positive') notPositive++;
      if (row === null || row === 'not-positive') continue;
      count++;
      const t = row.eventTime.getTime();
      const first = firstSeen.get(row.itemId);
      if (first === undefined || t < first) firstSeen.set(row.itemId, t);
    }
  }
  errors.finishFile(table.file);
  if (count === 0) {
    throw new ImportError(
      table.file,
      0,
      'rows',
      `has no interactions to import${notPositive > 0 ? ` (its ${notPositive} rows have weight <= 0: not positives)` : ''}`,
    );
  }

  // Items: the file's, plus those only the interactions name; new ones without a declared
  // availability are available from their first interaction (existing items keep theirs).
  const inFile = new Set(fileItems.map((it) => it.id));
  const candidates = [
    ...fileItems.filter((it) => !it.availableAt).map((it) => it.id),
    ...[...firstSeen.keys()].filter((id) => !inFile.has(id)),
  ];
  const existing = new Set<string>();
  for (let i = 0; i < candidates.length; i += 5000) {
    const rows = await store.prisma.item.findMany({
      where: { id: { in: candidates.slice(i, i + 5000) } },
      select: { id: true },
    });
    for (const r of rows) existing.add(r.id);
  }
  const items: ItemRecordInput[] = fileItems.map((it) => {
    const first = firstSeen.get(it.id);
    return it.availableAt || existing.has(it.id) || first === undefined
      ? it
      : { ...it, availableAt: new Date(first) };
  });
  for (const [id, t] of firstSeen) {
    if (!inFile.has(id) && !existing.has(id)) items.push({ id, features: {}, availableAt: new Date(t) });
  }

  // Pass 2, inside the import transaction: the same rows again, written in batches.
  const quiet = new RowErrors(true, Number.MAX_SAFE_INTEGER);
  const interactions: AsyncIterable<InteractionInput> = {
    async *[Symbol.asyncIterator]() {
      for await (const batch of table.records(quiet)) {
        await checkpoint(signal);
        for (const rec of batch) {
          const row = reader.parse(rec, quiet);
          if (row !== null && row !== 'not-positive') yield row;
        }
      }
    },
  };
  const profile: DatasetProfile = {
    kind: reader.kind,
    scale: reader.scale,
    hasTimes: reader.hasTimes ?? false,
    name: spec.name ?? datasetNameOf(spec.interactions.path),
  };
  return loadAll(
    store,
    { users, items, interactions, interactionCount: count, profile, notPositive },
    options,
    errors,
    started,
  );
}
