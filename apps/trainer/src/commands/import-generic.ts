import { InvalidArgumentError } from 'commander';
import { importGeneric, type GenericImportSpec } from '@warmstart/feature-store';
import { extname } from 'node:path';
import type { Importer } from './import';

export interface GenericFlags {
  interactions: string;
  users?: string;
  items?: string;
  userFields?: Record<string, FieldType>;
  itemFields?: Record<string, FieldType>;
  idColumn: string;
  availableAtColumn?: string;
  listSeparator: string;
  source?: string;
}

type FieldType = 'categorical' | 'multi_categorical' | 'numeric';
const TYPES: readonly FieldType[] = ['categorical', 'multi_categorical', 'numeric'];

/** `--item-fields genres:multi_categorical,release_year:numeric` */
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

const EXT: Record<'csv' | 'jsonl', string[]> = {
  csv: ['.csv', '.tsv'],
  jsonl: ['.jsonl', '.ndjson', '.json'],
};

/** The feature store's generic importer (`docs/internal-api.md`): one transaction, typed columns. */
export function genericImporter(format: 'csv' | 'jsonl', flags: GenericFlags): Importer {
  for (const [flag, path] of [
    ['--interactions', flags.interactions],
    ['--users', flags.users],
    ['--items', flags.items],
  ] as const) {
    if (path && !EXT[format].includes(extname(path).toLowerCase())) {
      throw new Error(`${flag}: ${path} is not a ${format} file (expected ${EXT[format].join(', ')})`);
    }
  }
  if (flags.users && !flags.userFields) throw new Error('--user-fields is required with --users');
  if (flags.items && !flags.itemFields) throw new Error('--item-fields is required with --items');
  const spec: GenericImportSpec = {
    interactions: { path: flags.interactions, ...(flags.source ? { source: flags.source } : {}) },
    ...(flags.users
      ? {
          users: {
            path: flags.users,
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
