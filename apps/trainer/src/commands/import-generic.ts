import { InvalidArgumentError } from 'commander';
import { importGeneric, type GenericImportSpec } from '@warmstart/feature-store';
import { extname } from 'node:path';
import type { Importer } from './import';

/** Flags of `import csv` / `import jsonl`. */
export interface GenericFlags {
  interactions: string;
  kind: 'explicit' | 'implicit';
  scale?: [number, number];
  userColumn: string;
  itemColumn: string;
  valueColumn: string;
  weightColumn?: string;
  timeColumn?: string;
  eventIdColumn: string;
  delimiter?: string;
  users?: string;
  items?: string;
  userFields?: Record<string, FieldType>;
  itemFields?: Record<string, FieldType>;
  idColumn: string;
  availableAtColumn?: string;
  listSeparator: string;
  source?: string;
  /** The dataset's name in the store (report label); default: the interactions file's base name. */
  datasetName?: string;
}

type FieldType = 'categorical' | 'multi_categorical' | 'numeric' | 'text';
const TYPES: readonly FieldType[] = ['categorical', 'multi_categorical', 'numeric', 'text'];

/** `--item-fields genres:multi_categorical,title:text,release_year:numeric` (an empty list: ids only). */
export function parseFieldList(flag: string) {
  return (value: string): Record<string, FieldType> => {
    const out: Record<string, FieldType> = {};
    for (const part of value
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [name, type] = part.split(':').map((s) => s.trim());
      if (!name || !TYPES.includes(type as FieldType)) {
        throw new InvalidArgumentError(`${flag}: "${part}" must be name:${TYPES.join('|')}`);
      }
      out[name] = type as FieldType;
    }
    return out;
  };
}

const JSONL_EXT = ['.jsonl', '.ndjson', '.json'];

/** `--delimiter tab` or one character. */
function parseDelimiter(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const d = value === 'tab' || value === '\\t' ? '\t' : value;
  if (d.length !== 1 || d === '"')
    throw new Error(`--delimiter must be one character or "tab", got "${value}"`);
  return d;
}

/**
 * The feature store's generic importer (`docs/internal-api.md`): one transaction, typed columns.
 * `import csv` reads delimited text of any extension except JSON ones; `import jsonl` the reverse.
 */
export function genericImporter(format: 'csv' | 'jsonl', flags: GenericFlags): Importer {
  for (const [flag, path] of [
    ['--interactions', flags.interactions],
    ['--users', flags.users],
    ['--items', flags.items],
  ] as const) {
    if (path && JSONL_EXT.includes(extname(path).toLowerCase()) !== (format === 'jsonl')) {
      throw new Error(
        format === 'jsonl'
          ? `${flag}: ${path} is not a jsonl file (expected ${JSONL_EXT.join(', ')}; use \`import csv\` for delimited text)`
          : `${flag}: ${path} is a JSON file: use \`import jsonl\``,
      );
    }
  }
  if (flags.users && !flags.userFields) throw new Error('--user-fields is required with --users');
  if (flags.items && !flags.itemFields) throw new Error('--item-fields is required with --items');
  if (!flags.users && flags.userFields) throw new Error('--user-fields needs --users');
  if (!flags.items && flags.itemFields) throw new Error('--item-fields needs --items');
  if (flags.kind === 'implicit' && flags.scale)
    throw new Error('--scale is for explicit data (--kind explicit)');
  if (flags.kind !== 'implicit' && flags.weightColumn)
    throw new Error('--weight-column is for implicit data (--kind implicit)');
  if (flags.availableAtColumn && !flags.items) throw new Error('--available-at-column needs --items');
  const table = { format, ...(format === 'csv' ? { delimiter: parseDelimiter(flags.delimiter) } : {}) };
  const spec: GenericImportSpec = {
    ...(flags.datasetName !== undefined && { name: flags.datasetName }),
    interactions: {
      path: flags.interactions,
      ...table,
      kind: flags.kind,
      ...(flags.scale ? { scale: flags.scale } : {}),
      columns: {
        user: flags.userColumn,
        item: flags.itemColumn,
        value: flags.valueColumn,
        eventId: flags.eventIdColumn,
        ...(flags.timeColumn ? { time: flags.timeColumn } : {}),
        ...(flags.weightColumn ? { weight: flags.weightColumn } : {}),
      },
      ...(flags.source ? { source: flags.source } : {}),
    },
    ...(flags.users
      ? {
          users: {
            path: flags.users,
            ...table,
            idColumn: flags.idColumn,
            fields: flags.userFields!,
            listSeparator: flags.listSeparator,
          },
        }
      : {}),
    ...(flags.items
      ? {
          items: {
            path: flags.items,
            ...table,
            idColumn: flags.idColumn,
            fields: flags.itemFields!,
            listSeparator: flags.listSeparator,
            ...(flags.availableAtColumn ? { availableAtColumn: flags.availableAtColumn } : {}),
          },
        }
      : {}),
  };
  return (store, options) => importGeneric(store, spec, options);
}
