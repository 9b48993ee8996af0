import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { ImportError } from '../errors';
import { fileSize, streamLines, type BadLine, type Line } from './lines';
import type { RowErrors } from './report';

/** One parsed row of a CSV or JSONL file with its 1-based line. */
export interface SourceRecord {
  line: number;
  values: Record<string, unknown>;
}

/** How a delimited or JSONL file is read. */
export interface TableFormat {
  /** `csv` (a header row, then one record per line) or `jsonl` (one JSON object per line). Default: by extension. */
  format?: 'csv' | 'jsonl';
  /** Cell separator of a `csv` file (default `\t` for `.tsv`/`.tab`, else `,`). */
  delimiter?: string;
}

const JSONL_EXT = ['.jsonl', '.ndjson', '.json'];
const CSV_EXT = ['.csv', '.tsv', '.tab'];

/**
 * The format of `file`: `spec.format` when given, else chosen by extension (.csv/.tsv/.tab vs
 * .jsonl/.ndjson/.json; other extensions need an explicit format). Throws an ImportError (line 0).
 */
export function fileFormat(
  file: string,
  spec: TableFormat = {},
): { format: 'csv' | 'jsonl'; delimiter: string } {
  const ext = extname(file).toLowerCase();
  const format = spec.format ?? (JSONL_EXT.includes(ext) ? 'jsonl' : CSV_EXT.includes(ext) ? 'csv' : null);
  if (!format) {
    throw new ImportError(
      file,
      0,
      'file',
      `${ext ? `unknown extension "${ext}"` : 'no file extension'}: use .csv, .tsv, .jsonl, .ndjson or .json, or name the format`,
    );
  }
  const delimiter = spec.delimiter ?? (ext === '.tsv' || ext === '.tab' ? '\t' : ',');
  if (format === 'csv' && (delimiter.length !== 1 || delimiter === '"' || delimiter === '\n')) {
    throw new ImportError(
      file,
      0,
      'delimiter',
      `${JSON.stringify(delimiter)} must be one character other than a quote or newline`,
    );
  }
  return { format, delimiter };
}

/** A table being streamed: the header (CSV) is read on open; records come in batches. */
export interface Table {
  file: string;
  format: 'csv' | 'jsonl';
  /** CSV column names (trimmed); null for JSONL. */
  header: string[] | null;
  /** Line of the CSV header (0 for JSONL). */
  headerLine: number;
  /** Bytes in the file (progress). */
  size: number;
  /** The data records in batches; malformed rows are reported to `errors` and left out. */
  records(errors: RowErrors, onBytes?: (bytes: number) => void): AsyncGenerator<SourceRecord[]>;
}

function splitCells(text: string, delimiter: string): string[] {
  // Fast path: no quoting on the line.
  if (!text.includes('"')) return text.split(delimiter);
  return ((parse(text, { delimiter, relax_quotes: false }) as string[][])[0] ?? []).map(String);
}

/**
 * Opens `file` for streaming (it is read again from the start by every `records()` call). CSV
 * headers are checked here: an empty file, an unreadable header or a repeated column name is an
 * ImportError at line 1 (or 0 for an empty file). A quoted CSV cell may not span lines.
 */
export async function openTable(file: string, spec: TableFormat = {}): Promise<Table> {
  const { format, delimiter } = fileFormat(file, spec);
  const size = fileSize(file);
  let header: string[] | null = null;
  let headerLine = 0;
  if (format === 'csv') {
    const lines = streamLines(file);
    try {
      for await (const batch of lines) {
        const first = batch[0];
        if ('problem' in first) throw new ImportError(file, first.line, 'header', first.problem.message);
        headerLine = first.line;
        try {
          header = splitCells(first.text, delimiter).map((h) => h.trim());
        } catch (err) {
          throw new ImportError(file, first.line, 'header', (err as Error).message);
        }
        break;
      }
    } finally {
      await lines.return(undefined);
    }
    if (!header) throw new ImportError(file, 0, 'file', 'is empty (a CSV file needs a header row)');
    const seen = new Set<string>();
    for (const h of header) {
      if (seen.has(h)) throw new ImportError(file, headerLine, 'header', `column "${h}" appears twice`);
      seen.add(h);
    }
  }
  const columns = header;
  return {
    file,
    format,
    header,
    headerLine,
    size,
    async *records(errors: RowErrors, onBytes?: (bytes: number) => void) {
      for await (const batch of streamLines(file, onBytes)) {
        const out: SourceRecord[] = [];
        for (const l of batch) {
          if (l.line <= headerLine) continue;
          const rec = columns ? csvRecord(file, l, columns, delimiter, errors) : jsonRecord(file, l, errors);
          if (rec) out.push(rec);
        }
        if (out.length > 0) yield out;
      }
    },
  };
}

function csvRecord(
  file: string,
  l: Line | BadLine,
  header: string[],
  delimiter: string,
  errors: RowErrors,
): SourceRecord | null {
  errors.row(file);
  if ('problem' in l) {
    errors.bad(file, l.line, l.problem.field, l.problem.message);
    return null;
  }
  let cells: string[];
  try {
    cells = splitCells(l.text, delimiter);
  } catch (err) {
    errors.bad(file, l.line, 'row', (err as Error).message);
    return null;
  }
  if (cells.length !== header.length) {
    errors.bad(
      file,
      l.line,
      'columns',
      `expected ${header.length} columns (${header.join(', ')}), found ${cells.length}`,
    );
    return null;
  }
  const values: Record<string, unknown> = {};
  for (let i = 0; i < header.length; i++) values[header[i]] = cells[i];
  return { line: l.line, values };
}

function jsonRecord(file: string, l: Line | BadLine, errors: RowErrors): SourceRecord | null {
  errors.row(file);
  if ('problem' in l) {
    errors.bad(file, l.line, l.problem.field, l.problem.message);
    return null;
  }
  try {
    const v: unknown = JSON.parse(l.text);
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      return { line: l.line, values: v as Record<string, unknown> };
    errors.bad(file, l.line, 'row', 'is not a JSON object');
  } catch (err) {
    errors.bad(file, l.line, 'row', `invalid JSON (${(err as Error).message})`);
  }
  return null;
}

/** Checks that a CSV header has `required` columns: an ImportError at the header line naming what is missing, found and expected. */
export function requireColumns(table: Table, required: string[], expected: string[]): void {
  if (!table.header) return;
  const missing = required.filter((c) => !table.header!.includes(c));
  if (missing.length === 0) return;
  const names = missing.map((c) => `"${c}"`).join(', ');
  const hint =
    table.header.length === 1 && /[\t;|]/.test(table.header[0])
      ? ' (the header is one column: is the file separated by another delimiter?)'
      : '';
  throw new ImportError(
    table.file,
    table.headerLine,
    missing[0],
    `the header has no column ${names}: found ${table.header.map((h) => `"${h}"`).join(', ')}; ` +
      `expected ${expected.join(', ')}${hint}`,
  );
}
