import { ValidationError } from '../errors';
import type { PageRequest } from './inputs';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/** Validated page size. */
export function pageLimit(page: PageRequest | undefined): number {
  const limit = page?.limit ?? DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new ValidationError('page.limit', `${String(limit)} is not an integer in 1..${MAX_PAGE}`);
  }
  return limit;
}

/** Opaque cursor: base64url JSON of the last row's sort key. */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor(cursor: string | null | undefined, arity: number): (string | number)[] | null {
  if (cursor === undefined || cursor === null || cursor === '') return null;
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === arity) return key as (string | number)[];
  } catch {
    // fall through to the error below
  }
  throw new ValidationError('page.cursor', 'is not a cursor returned by this store');
}
