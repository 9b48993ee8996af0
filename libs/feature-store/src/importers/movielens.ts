import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ImportError } from '../errors';
import type { DatasetProfile } from '../store/dataset-profile';
import type { FeatureStore } from '../store/feature-store';
import type { InteractionInput, ItemRecordInput } from '../store/inputs';
import type { UserRecord } from '../types';
import { MAX_TIME, MIN_TIME } from '../validate';
import { eachLine, readLines, readText, type Line } from './lines';
import { loadAll } from './load';
import { RowErrors, type ImportOptions, type ImportReport } from './report';

const MONTHS: Record<string, number> = {
  Jan: 0,
  Feb: 1,
  Mar: 2,
  Apr: 3,
  May: 4,
  Jun: 5,
  Jul: 6,
  Aug: 7,
  Sep: 8,
  Oct: 9,
  Nov: 10,
  Dec: 11, // prettier-ignore
};

/** Parsed MovieLens data, before it is written. */
export interface MovieLensData {
  users: UserRecord[];
  items: ItemRecordInput[];
  interactions: InteractionInput[];
}

function splitRow(errors: RowErrors, file: string, l: Line, sep: string, columns: number): string[] | null {
  errors.row(file);
  const cells = l.text.split(sep);
  if (cells.length !== columns) {
    errors.bad(
      file,
      l.line,
      'columns',
      `expected ${columns} columns separated by "${sep}", found ${cells.length}`,
    );
    return null;
  }
  return cells;
}

/** `raw` as a number when it is 1-15 plain digits (the common case, no regex), else NaN. */
function digits(raw: string): number {
  if (raw.length === 0 || raw.length > 15) return NaN;
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const d = raw.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return NaN;
    n = n * 10 + d;
  }
  return n;
}

function intCell(errors: RowErrors, file: string, l: Line, field: string, raw: string): number | null {
  let n = digits(raw);
  if (Number.isNaN(n)) n = /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n)) {
    errors.bad(file, l.line, field, `"${raw}" is not an integer`);
    return null;
  }
  return n;
}

/** Parses `dd-Mon-yyyy` (u.item release dates). */
function releaseDate(raw: string): Date | null | 'bad' {
  if (raw.trim() === '') return null;
  const m = /^(\d{1,2})-([A-Z][a-z]{2})-(\d{4})$/.exec(raw.trim());
  if (!m || MONTHS[m[2]] === undefined) return 'bad';
  return new Date(Date.UTC(Number(m[3]), MONTHS[m[2]], Number(m[1])));
}

/** A MovieLens ratings file, parsed lazily: its rows are validated as they are read. */
interface Ratings {
  /** Lines in the file (an upper bound on the ratings, for progress and index planning). */
  lines: number;
  /** The ratings; the file's bad-row budget is checked once they are all read. */
  rows: () => Generator<InteractionInput>;
}

/** MovieLens parsed up to its ratings, which are read while they are written. */
interface MovieLensParts {
  users: UserRecord[];
  items: ItemRecordInput[];
  ratings: Ratings;
}

function ratingRows(
  errors: RowErrors,
  file: string,
  sep: string,
  prefix: string,
  users: Set<string>,
  items: Set<string>,
): Ratings {
  const text = readText(file, 'latin1');
  let lines = text.length > 0 && !text.endsWith('\n') ? 1 : 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  return {
    lines,
    *rows() {
      for (const l of eachLine(text)) {
        const c = splitRow(errors, file, l, sep, 4);
        if (!c) continue;
        const user = intCell(errors, file, l, 'user_id', c[0]);
        if (user === null) continue;
        const item = intCell(errors, file, l, 'item_id', c[1]);
        if (item === null) continue;
        const rating = intCell(errors, file, l, 'rating', c[2]);
        if (rating === null) continue;
        const ts = intCell(errors, file, l, 'timestamp', c[3]);
        if (ts === null) continue;
        const userId = String(user);
        const itemId = String(item);
        if (!users.has(userId)) errors.bad(file, l.line, 'user_id', `unknown user ${userId}`);
        else if (!items.has(itemId)) errors.bad(file, l.line, 'item_id', `unknown item ${itemId}`);
        else if (rating < 1 || rating > 5) errors.bad(file, l.line, 'rating', `${rating} is outside 1..5`);
        else if (ts * 1000 < MIN_TIME || ts * 1000 >= MAX_TIME)
          errors.bad(file, l.line, 'timestamp', `${ts} is not a sane time`);
        else {
          yield {
            eventId: `${prefix}:${userId}:${itemId}`,
            userId,
            itemId,
            value: rating,
            kind: 'rating',
            eventTime: new Date(ts * 1000),
          };
        }
      }
      errors.finishFile(file);
    },
  };
}

function requireFile(dir: string, name: string): string {
  const file = join(dir, name);
  if (!existsSync(file)) throw new ImportError(file, 0, 'file', 'the file does not exist');
  return file;
}

/** Parses MovieLens-100K (`u.user`, `u.item`, `u.genre`, `u.data`) following docs/internal-api.md. */
export function parseMovieLens100k(dir: string, errors: RowErrors): MovieLensData {
  return materialise(movieLens100kParts(dir, errors));
}

/** Every rating of `parts` read into memory (the parse-only API). */
function materialise(parts: MovieLensParts): MovieLensData {
  return { users: parts.users, items: parts.items, interactions: [...parts.ratings.rows()] };
}

function movieLens100kParts(dir: string, errors: RowErrors): MovieLensParts {
  const genreFile = requireFile(dir, 'u.genre');
  const genres: string[] = [];
  for (const l of readLines(genreFile, 'latin1')) {
    const c = splitRow(errors, genreFile, l, '|', 2);
    if (!c) continue;
    const idx = intCell(errors, genreFile, l, 'genre_id', c[1]);
    if (idx !== null) genres[idx] = c[0];
  }
  const userFile = requireFile(dir, 'u.user');
  const users: UserRecord[] = [];
  for (const l of readLines(userFile, 'latin1')) {
    const c = splitRow(errors, userFile, l, '|', 5);
    if (!c) continue;
    const id = intCell(errors, userFile, l, 'user_id', c[0]);
    const age = id === null ? null : intCell(errors, userFile, l, 'age', c[1]);
    if (id === null || age === null) continue;
    users.push({
      id: String(id),
      features: { gender: c[2], age, occupation: c[3], zip_prefix: c[4].slice(0, 2) },
    });
  }
  const itemFile = requireFile(dir, 'u.item');
  const items: ItemRecordInput[] = [];
  for (const l of readLines(itemFile, 'latin1')) {
    const c = splitRow(errors, itemFile, l, '|', 5 + genres.length);
    if (!c) continue;
    const id = intCell(errors, itemFile, l, 'item_id', c[0]);
    if (id === null) continue;
    const released = releaseDate(c[2]);
    if (released === 'bad') {
      errors.bad(itemFile, l.line, 'release_date', `"${c[2]}" is not dd-Mon-yyyy`);
      continue;
    }
    const flags = c.slice(5);
    const bad = flags.findIndex((f) => f !== '0' && f !== '1');
    if (bad >= 0) {
      errors.bad(itemFile, l.line, `genre.${genres[bad]}`, `"${flags[bad]}" is not 0 or 1`);
      continue;
    }
    items.push({
      id: String(id),
      features: {
        genres: genres.filter((_, g) => flags[g] === '1'),
        release_year: released ? released.getUTCFullYear() : null,
      },
      ...(released ? { availableAt: released } : {}),
    });
  }
  const dataFile = requireFile(dir, 'u.data');
  for (const f of [genreFile, userFile, itemFile]) errors.finishFile(f);
  const ratings = ratingRows(
    errors,
    dataFile,
    '\t',
    'ml100k',
    new Set(users.map((u) => u.id)),
    new Set(items.map((it) => it.id)),
  );
  return { users, items, ratings };
}

/** Parses MovieLens-1M (`users.dat`, `movies.dat`, `ratings.dat`, `::`-separated). */
export function parseMovieLens1m(dir: string, errors: RowErrors): MovieLensData {
  return materialise(movieLens1mParts(dir, errors));
}

function movieLens1mParts(dir: string, errors: RowErrors): MovieLensParts {
  const userFile = requireFile(dir, 'users.dat');
  const users: UserRecord[] = [];
  for (const l of readLines(userFile, 'latin1')) {
    const c = splitRow(errors, userFile, l, '::', 5);
    if (!c) continue;
    const id = intCell(errors, userFile, l, 'user_id', c[0]);
    const age = id === null ? null : intCell(errors, userFile, l, 'age', c[2]);
    if (id === null || age === null) continue;
    users.push({
      id: String(id),
      features: { gender: c[1], age, occupation: c[3], zip_prefix: c[4].slice(0, 2) },
    });
  }
  const itemFile = requireFile(dir, 'movies.dat');
  const items: ItemRecordInput[] = [];
  for (const l of readLines(itemFile, 'latin1')) {
    const c = splitRow(errors, itemFile, l, '::', 3);
    if (!c) continue;
    const id = intCell(errors, itemFile, l, 'item_id', c[0]);
    if (id === null) continue;
    const year = /\((\d{4})\)\s*$/.exec(c[1]);
    const releaseYear = year ? Number(year[1]) : null;
    items.push({
      id: String(id),
      features: { genres: c[2] === '' ? [] : c[2].split('|'), release_year: releaseYear },
      // 1M has only the year: the item is available from January 1st of it.
      ...(releaseYear ? { availableAt: new Date(Date.UTC(releaseYear, 0, 1)) } : {}),
    });
  }
  const dataFile = requireFile(dir, 'ratings.dat');
  for (const f of [userFile, itemFile]) errors.finishFile(f);
  const ratings = ratingRows(
    errors,
    dataFile,
    '::',
    'ml1m',
    new Set(users.map((u) => u.id)),
    new Set(items.map((it) => it.id)),
  );
  return { users, items, ratings };
}

/** MovieLens: explicit 1..5 star ratings with times. */
const movielensProfile = (name: string): DatasetProfile => ({
  kind: 'explicit',
  scale: [1, 5],
  hasTimes: true,
  name,
});

/**
 * Imports MovieLens-100K from `dir` in one transaction. Malformed rows fail the import with
 * file, line and field (nothing written) unless `skipBadRows`. Users and items are parsed first;
 * the ratings are parsed while they are written (a bad one rolls the whole import back), so a
 * batch's rows die young instead of all surviving until the write.
 */
export async function importMovieLens100k(
  store: FeatureStore,
  dir: string,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const started = Date.now();
  const errors = new RowErrors(options.skipBadRows ?? false, options.maxBadRows);
  options.onProgress?.({ phase: 'parse', done: 0 });
  const { users, items, ratings } = movieLens100kParts(dir, errors);
  return loadAll(
    store,
    {
      users,
      items,
      interactions: ratings.rows(),
      interactionCount: ratings.lines,
      profile: movielensProfile('movielens-100k'),
    },
    options,
    errors,
    started,
  );
}

/** Imports MovieLens-1M from `dir` (same guarantees as `importMovieLens100k`). */
export async function importMovieLens1m(
  store: FeatureStore,
  dir: string,
  options: ImportOptions = {},
): Promise<ImportReport> {
  const started = Date.now();
  const errors = new RowErrors(options.skipBadRows ?? false, options.maxBadRows);
  options.onProgress?.({ phase: 'parse', done: 0 });
  const { users, items, ratings } = movieLens1mParts(dir, errors);
  return loadAll(
    store,
    {
      users,
      items,
      interactions: ratings.rows(),
      interactionCount: ratings.lines,
      profile: movielensProfile('movielens-1m'),
    },
    options,
    errors,
    started,
  );
}
