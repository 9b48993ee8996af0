import { ImportError, ValidationError } from '../errors';
import type { DatasetProfile } from '../store/dataset-profile';

/** Progress of a long import: `parse` counts bytes read, the others rows written. */
export interface ImportProgress {
  phase: 'parse' | 'items' | 'users' | 'interactions';
  done: number;
  total?: number;
}

/** A row left out because `skipBadRows` was set. */
export interface RejectedRow {
  file: string;
  line: number;
  field: string;
  message: string;
}

/** Default `maxBadRows`: at most 1% of a file's rows may be bad, even with `skipBadRows`. */
export const DEFAULT_MAX_BAD_ROWS = 0.01;
/** `rejected` lists at most this many rows (`badRows` counts them all). */
export const MAX_LISTED_REJECTIONS = 1000;

/** Options shared by all importers. */
export interface ImportOptions {
  onProgress?: (p: ImportProgress) => void;
  /** Leave malformed rows out (listed in `rejected`) instead of failing the whole import. */
  skipBadRows?: boolean;
  /**
   * With `skipBadRows`, the most bad rows a file may have before the import fails anyway: a
   * fraction of the file's rows when below 1 (default 0.01), else a count. A file whose every row
   * is bad always fails.
   */
  maxBadRows?: number;
  /** Aborting rolls the import back; nothing partial is left. */
  signal?: AbortSignal;
  /** Rows per INSERT batch inside the import transaction (default 5000). */
  batchSize?: number;
  /** The import is given up (rolled back) when a batch would start after this long (default 24 hours). */
  timeoutMs?: number;
}

/** What an import's data holds, as read (before de-duplication against the store). */
export interface ImportSummary {
  /** The store's dataset profile after the import. */
  profile: DatasetProfile;
  /** Distinct users in the import (feature file and interactions), and how many have features. */
  users: number;
  usersWithFeatures: number;
  /** Distinct items in the import (feature file and interactions), and how many have features. */
  items: number;
  itemsWithFeatures: number;
  /** Valid interactions read. */
  interactions: number;
  /** First and last event time of those interactions; null when the data has no times. */
  timeSpan: { first: Date; last: Date } | null;
  /** Implicit rows whose weight was <= 0: read, valid, and not stored (they are not positives). */
  notPositive: number;
}

/** What an import wrote. */
export interface ImportReport {
  /** Users written: new ones (from a users file or created by their interactions) and users whose features changed. */
  users: number;
  /** Items written: new ones and items whose features or availability changed. */
  items: number;
  interactions: { ingested: number; duplicates: number };
  /** The bad rows left out (`skipBadRows`), at most `MAX_LISTED_REJECTIONS` of them. */
  rejected: RejectedRow[];
  /** How many bad rows were left out in all. */
  badRows: number;
  summary: ImportSummary;
  durationMs: number;
}

/**
 * Collects malformed rows: throws at the first one unless bad rows are skipped; when skipping,
 * throws once a file has more than `maxBadRows` bad rows (a count: at once; a fraction: when the
 * file is done, `finishFile`).
 */
export class RowErrors {
  readonly rejected: RejectedRow[] = [];
  count = 0;
  private readonly files = new Map<string, { rows: number; bad: number }>();
  private readonly maxBad: number;

  constructor(
    private readonly skip: boolean,
    maxBadRows: number = DEFAULT_MAX_BAD_ROWS,
  ) {
    if (!(Number.isFinite(maxBadRows) && maxBadRows >= 0 && (maxBadRows < 1 || Number.isInteger(maxBadRows))))
      throw new ValidationError('maxBadRows', `${maxBadRows} must be a fraction in [0, 1) or a whole count`);
    this.maxBad = maxBadRows;
  }

  private file(file: string) {
    let f = this.files.get(file);
    if (!f) this.files.set(file, (f = { rows: 0, bad: 0 }));
    return f;
  }

  /** Counts one data row of `file` (good or bad). */
  row(file: string): void {
    this.file(file).rows++;
  }

  /** Reports a bad row; returns normally (the caller drops the row) only when skipping. */
  bad(file: string, line: number, field: string, message: string): void {
    if (!this.skip) throw new ImportError(file, line, field, message);
    const f = this.file(file);
    f.bad++;
    this.count++;
    if (this.rejected.length < MAX_LISTED_REJECTIONS) this.rejected.push({ file, line, field, message });
    if (this.maxBad >= 1 && f.bad > this.maxBad) {
      throw new ImportError(
        file,
        line,
        'rows',
        `more than ${this.maxBad} bad rows (maxBadRows ${this.maxBad}); the last one: ${field}: ${message}`,
      );
    }
  }

  /** Fails a file with too many bad rows, or with bad rows and no good one. */
  finishFile(file: string): void {
    const f = this.files.get(file);
    if (!f || f.bad === 0) return;
    if (f.bad === f.rows)
      throw new ImportError(
        file,
        0,
        'rows',
        `every row is bad (${f.bad} of ${f.rows}); see the first one: ${this.first(file)}`,
      );
    if (this.maxBad < 1 && f.bad > this.maxBad * f.rows) {
      throw new ImportError(
        file,
        0,
        'rows',
        `${f.bad} of ${f.rows} rows are bad (${((100 * f.bad) / f.rows).toFixed(1)}%, more than maxBadRows ` +
          `${this.maxBad} = ${(100 * this.maxBad).toFixed(1)}%); the first one: ${this.first(file)}`,
      );
    }
  }

  private first(file: string): string {
    const r = this.rejected.find((x) => x.file === file);
    return r ? `line ${r.line}: ${r.field}: ${r.message}` : '?';
  }
}
