import { LRUCache } from 'lru-cache';
import type { SqlRunner } from './runner';

/** A value bound to a raw SQL parameter. */
export type SqlValue = string | number | null;

// Bound parameters per statement: below SQLite's 32766 and PostgreSQL's 65535.
const MAX_PARAMS = 8000;

const DAY_MS = 86_400_000;
// `YYYY-MM-DDT` by day number: imports format a time per row, and most rows share few days.
const dayPrefixes = new Map<number, string>();
const pad2 = (n: number) => (n < 10 ? '0' : '') + n;
const pad3 = (n: number) => (n < 10 ? '00' : n < 100 ? '0' : '') + n;

/**
 * Stores a Date the way Prisma's adapters do (ISO 8601 with an explicit UTC offset:
 * `2026-12-08T04:13:19.000+00:00`). The date part is cached by day and the time of day built from
 * numbers, several times faster than `toISOString()` per row; years outside 0..9999 (which
 * `toISOString` writes with six digits) take the slow path.
 */
export function sqlTime(d: Date): string {
  const ms = d.getTime();
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    const iso = d.toISOString();
    if (iso.length !== 24) return iso.replace('Z', '+00:00');
    if (dayPrefixes.size >= 4096) dayPrefixes.clear();
    prefix = iso.slice(0, 11);
    dayPrefixes.set(day, prefix);
  }
  let rest = ms - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  return `${prefix}${pad2(h)}:${pad2(m)}:${pad2(s)}.${pad3(rest - s * 1000)}+00:00`;
}

/** A time read by raw SQL: a Date (Prisma, pg), or the ISO text SQLite stores. */
export function toDate(v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v : new Date(String(v));
}

/** A number read by raw SQL (SQLite integers may come as bigint). */
export function toNumber(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

/** Raw SQL text for the two dialects (placeholders differ: `?` vs `$n`). */
export class Dialect {
  // INSERT texts by shape: every full chunk reuses one string (built once, and one key for a
  // runner's statement cache).
  private readonly statements = new LRUCache<string, string>({ max: 64 });

  constructor(readonly provider: 'sqlite' | 'postgresql') {}

  /** `(?, ?), (?, ?)` or `($1, $2), ($3, $4)` for `rows` rows of `cols` columns, from parameter `start`. */
  values(rows: number, cols: number, start = 0, casts: readonly string[] = []): string {
    const out: string[] = [];
    let n = start;
    for (let r = 0; r < rows; r++) {
      const cells: string[] = [];
      for (let c = 0; c < cols; c++) {
        n++;
        const p = this.provider === 'sqlite' ? '?' : `$${n}`;
        cells.push(this.provider === 'postgresql' && casts[c] ? `${p}::${casts[c]}` : p);
      }
      out.push(`(${cells.join(', ')})`);
    }
    return out.join(', ');
  }

  /** `?, ?, ?` or `$1, $2, $3` for an IN list. */
  list(count: number, start = 0): string {
    return Array.from({ length: count }, (_, i) =>
      this.provider === 'sqlite' ? '?' : `$${start + i + 1}`,
    ).join(', ');
  }

  /**
   * Multi-row INSERT in chunks; `suffix` is e.g. an ON CONFLICT clause. `casts` names PostgreSQL
   * types for parameters that need one (timestamps are sent as text). Returns rows affected.
   */
  insertMany(
    db: Pick<SqlRunner, 'execute'>,
    table: string,
    columns: readonly string[],
    rows: readonly SqlValue[][],
    suffix = '',
    casts: readonly string[] = [],
  ): Promise<number> {
    return this.insertFlat(db, table, columns, rows.flat(), suffix, casts);
  }

  /** `insertMany` with the rows' values in one flat list, `columns.length` per row (no array per row). */
  async insertFlat(
    db: Pick<SqlRunner, 'execute'>,
    table: string,
    columns: readonly string[],
    values: readonly SqlValue[],
    suffix = '',
    casts: readonly string[] = [],
  ): Promise<number> {
    const width = columns.length;
    const perChunk = Math.max(1, Math.floor(MAX_PARAMS / width)) * width;
    let affected = 0;
    for (let i = 0; i < values.length; i += perChunk) {
      const chunk = values.slice(i, i + perChunk);
      affected += await db.execute(
        this.insertSql(table, columns, chunk.length / width, suffix, casts),
        chunk,
      );
    }
    return affected;
  }

  private insertSql(
    table: string,
    columns: readonly string[],
    rows: number,
    suffix: string,
    casts: readonly string[],
  ): string {
    const key = `${table}\u0000${columns.join(',')}\u0000${rows}\u0000${suffix}\u0000${casts.join(',')}`;
    let sql = this.statements.get(key);
    if (sql === undefined) {
      const cols = columns.map((c) => `"${c}"`).join(', ');
      sql = `INSERT INTO "${table}" (${cols}) VALUES ${this.values(rows, columns.length, 0, casts)} ${suffix}`;
      this.statements.set(key, sql);
    }
    return sql;
  }
}
