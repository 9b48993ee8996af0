import { ImportError } from '../errors';

/** Progress of a long import, reported every batch. */
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

/** Options shared by all importers. */
export interface ImportOptions {
  onProgress?: (p: ImportProgress) => void;
  /** Leave malformed rows out (listed in `rejected`) instead of failing the whole import. */
  skipBadRows?: boolean;
  /** Aborting rolls the import back; nothing partial is left. */
  signal?: AbortSignal;
  /** Rows per INSERT batch inside the import transaction (default 5000). */
  batchSize?: number;
}

/** What an import wrote. */
export interface ImportReport {
  users: number;
  items: number;
  interactions: { ingested: number; duplicates: number };
  rejected: RejectedRow[];
  durationMs: number;
}

/** Collects malformed rows: throws at the first one unless bad rows are skipped. */
export class RowErrors {
  readonly rejected: RejectedRow[] = [];
  constructor(private readonly skip: boolean) {}

  /** Reports a bad row; returns normally (the caller drops the row) only when skipping. */
  bad(file: string, line: number, field: string, message: string): void {
    if (!this.skip) throw new ImportError(file, line, field, message);
    this.rejected.push({ file, line, field, message });
  }
}
