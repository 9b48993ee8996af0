import type { Db, Tx } from '../db/client';
import type { SqlRunner } from '../db/runner';
import { sqlTime } from '../db/sql';
import { ValidationError } from '../errors';
import { RATING_RANGE } from '../validate';

/** Feedback kind of a dataset: ratings on a declared scale, or implicit positives. */
export type FeedbackKind = 'explicit' | 'implicit';

/**
 * What the stored interactions are, as declared by the import that wrote them. Training and
 * evaluation read it so that they need no config to know the data.
 */
export interface DatasetProfile {
  /** `explicit`: interactions are ratings on `scale`; `implicit`: every interaction is a positive (value 1). */
  kind: FeedbackKind;
  /** Declared rating scale `[low, high]` of explicit data; null for implicit data. */
  scale: [number, number] | null;
  /** false when the data came without event times (they are then all stored at `NO_TIME`). */
  hasTimes: boolean;
  /**
   * The dataset's name as its import gave it (`movielens-100k`, a CSV file's base name, or
   * `--dataset-name`): the label evaluation reports use. Absent for stores imported before names.
   */
  name?: string;
}

/** Where interactions without an event time are stored: a fixed instant, so re-imports are idempotent. */
export const NO_TIME = new Date(Date.UTC(1970, 0, 1));

/** The profile of a store no import has declared one for: explicit ratings on 1..5 with times. */
export const DEFAULT_PROFILE: DatasetProfile = {
  kind: 'explicit',
  scale: [RATING_RANGE[0], RATING_RANGE[1]],
  hasTimes: true,
};

const KEY = 'dataset_profile';
/** Longest dataset name (a report label). */
const MAX_NAME_CHARS = 200;

/** Validates a profile (`field` prefixes the names in errors); returns a normalised copy. */
export function checkProfile(profile: DatasetProfile, field = 'profile'): DatasetProfile {
  if (profile === null || typeof profile !== 'object') throw new ValidationError(field, 'must be an object');
  const { kind, scale, hasTimes, name } = profile;
  if (kind !== 'explicit' && kind !== 'implicit')
    throw new ValidationError(`${field}.kind`, `"${String(kind)}" is not explicit or implicit`);
  if (typeof hasTimes !== 'boolean') throw new ValidationError(`${field}.hasTimes`, 'must be a boolean');
  if (name !== undefined && (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_CHARS))
    throw new ValidationError(`${field}.name`, `must be a string of 1 to ${MAX_NAME_CHARS} characters`);
  const named = name !== undefined ? { name } : {};
  if (kind === 'implicit') {
    if (scale !== null && scale !== undefined)
      throw new ValidationError(`${field}.scale`, 'must be null for implicit data');
    return { kind, scale: null, hasTimes, ...named };
  }
  return { kind, scale: checkScale(scale, `${field}.scale`), hasTimes, ...named };
}

/** A rating scale: two finite numbers, low < high. */
export function checkScale(scale: unknown, field = 'scale'): [number, number] {
  if (
    !Array.isArray(scale) ||
    scale.length !== 2 ||
    !scale.every((v) => typeof v === 'number' && Number.isFinite(v)) ||
    !((scale[0] as number) < (scale[1] as number))
  ) {
    throw new ValidationError(field, `${JSON.stringify(scale)} must be [low, high] with low < high`);
  }
  return [scale[0] as number, scale[1] as number];
}

/** A stored profile setting: JSON (SQLite's text as read by raw SQL) or its parsed value. */
function storedProfile(value: unknown): DatasetProfile {
  const parsed: unknown = typeof value === 'string' ? JSON.parse(value) : value;
  return checkProfile(parsed as DatasetProfile, 'settings.dataset_profile');
}

/** The declared profile, or null when no import has declared one. */
export async function readProfile(db: Db | Tx): Promise<DatasetProfile | null> {
  const row = await db.setting.findUnique({ where: { key: KEY } });
  return row ? storedProfile(row.value) : null;
}

/** `readProfile`, else `inferProfile`, over raw SQL (an import's own connection). */
export async function currentProfile(db: SqlRunner): Promise<DatasetProfile> {
  const p = (n: number) => (db.dialect.provider === 'sqlite' ? '?' : `$${n}`);
  const [row] = await db.query<{ value: unknown }>(`SELECT "value" FROM "settings" WHERE "key" = ${p(1)}`, [
    KEY,
  ]);
  if (row) return storedProfile(row.value);
  const [newest] = await db.query<{ kind: string }>(
    'SELECT "kind" FROM "interactions" ORDER BY "seq" DESC LIMIT 1',
  );
  return profileOfNewest(newest?.kind);
}

/** `writeProfile` over raw SQL. */
export async function storeProfile(db: SqlRunner, profile: DatasetProfile): Promise<void> {
  const value = JSON.stringify(checkProfile(profile));
  await db.dialect.insertMany(
    db,
    'settings',
    ['key', 'value', 'updatedAt'],
    [[KEY, value, sqlTime(new Date())]],
    'ON CONFLICT ("key") DO UPDATE SET "value" = excluded."value", "updatedAt" = excluded."updatedAt"',
    ['', 'jsonb', 'timestamp'],
  );
}

export async function writeProfile(db: Db | Tx, profile: DatasetProfile): Promise<void> {
  const value = { ...checkProfile(profile) };
  await db.setting.upsert({
    where: { key: KEY },
    create: { key: KEY, value, updatedAt: new Date() },
    update: { value, updatedAt: new Date() },
  });
}

/**
 * The profile of a store no import declared one for (data written before profiles existed, or
 * only through the write API): implicit when the newest interaction is implicit (one primary-key
 * probe), else the default.
 */
export async function inferProfile(db: Db | Tx): Promise<DatasetProfile> {
  const newest = await db.interaction.findFirst({ orderBy: { seq: 'desc' }, select: { kind: true } });
  return profileOfNewest(newest?.kind);
}

function profileOfNewest(kind: string | undefined): DatasetProfile {
  return kind === 'implicit' ? { kind: 'implicit', scale: null, hasTimes: true } : DEFAULT_PROFILE;
}

/**
 * The profile after an import of `incoming` into a store that holds `stored` (null: nothing
 * declared) and `hasData` interactions already. An empty store takes the import's profile; a store
 * with data keeps its kind and scale (a different one is an error: one store holds one dataset) and
 * has times only while every import had them.
 */
export function mergeProfile(
  stored: DatasetProfile,
  incoming: DatasetProfile,
  hasData: boolean,
): DatasetProfile {
  if (!hasData) return incoming;
  const describe = (p: DatasetProfile) =>
    p.kind === 'explicit' ? `explicit ${p.scale!.join('..')}` : 'implicit';
  if (stored.kind !== incoming.kind || String(stored.scale) !== String(incoming.scale)) {
    throw new ValidationError(
      incoming.kind !== stored.kind ? 'kind' : 'scale',
      `the store already holds ${describe(stored)} interactions; this import is ${describe(incoming)} ` +
        '(one store holds one dataset: import into another database)',
    );
  }
  // One store holds one dataset: it keeps the name its first import gave it.
  const name = stored.name ?? incoming.name;
  return { ...incoming, hasTimes: stored.hasTimes && incoming.hasTimes, ...(name !== undefined && { name }) };
}
