import { extname } from 'node:path';
import { parse } from 'csv-parse/sync';
import { ImportError } from '../errors';
import type { Line } from './lines';
import type { RowErrors } from './report';

/** One parsed row of a CSV or JSONL file with its 1-based line. */
export interface SourceRecord {
  line: number;
  values: Record<string, unknown>;
}

/** CSV (header row) or JSONL, chosen by extension (.csv/.tsv vs .jsonl/.ndjson/.json). */
export function fileFormat(file: string): 'csv' | 'tsv' | 'jsonl' {
  const ext = extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv') return 'tsv';
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  throw new ImportError(
    file,
    0,
    'file',
    `${ext ? `unknown extension "${ext}"` : 'no file extension'}: use .csv, .tsv, .jsonl, .ndjson or .json`,
  );
}

/** Parses already-decoded lines into records; malformed rows go to `errors` with their line. */
export function parseRecords(file: string, lines: Line[], errors: RowErrors): SourceRecord[] {
  const format = fileFormat(file);
  if (format === 'jsonl') {
    const out: SourceRecord[] = [];
    for (const l of lines) {
      try {
        const v: unknown = JSON.parse(l.text);
        if (v === null || typeof v !== 'object' || Array.isArray(v))
          errors.bad(file, l.line, 'row', 'is not a JSON object');
        else out.push({ line: l.line, values: v as Record<string, unknown> });
      } catch (err) {
        errors.bad(file, l.line, 'row', `invalid JSON (${(err as Error).message})`);
      }
    }
    return out;
  }
  if (lines.length === 0) return [];
  const header = parse(lines[0].text, { delimiter: format === 'tsv' ? '\t' : ',' })[0] as string[];
  const out: SourceRecord[] = [];
  for (const l of lines.slice(1)) {
    let cells: string[];
    try {
      cells =
        (parse(l.text, { delimiter: format === 'tsv' ? '\t' : ',', relax_quotes: false }) as string[][])[0] ??
        [];
    } catch (err) {
      errors.bad(file, l.line, 'row', (err as Error).message);
      continue;
    }
    if (cells.length !== header.length) {
      errors.bad(
        file,
        l.line,
        'columns',
        `expected ${header.length} columns (${header.join(', ')}), found ${cells.length}`,
      );
      continue;
    }
    out.push({ line: l.line, values: Object.fromEntries(header.map((h, i) => [h, cells[i]])) });
  }
  return out;
}
