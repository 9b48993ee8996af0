import { createHash } from 'node:crypto';

/** A `name:scopes:sha256-of-token` entry for `token`, as the token file and WARMSTART_AUTH_TOKENS hold. */
export function tokenEntry(name: string, scopes: string, token: string): string {
  return `${name}:${scopes}:${createHash('sha256').update(token).digest('hex')}`;
}
