import { createHash, timingSafeEqual } from 'node:crypto';
import { SCOPES, isScope, type Scope } from './scopes';

/** One accepted bearer token: who it is, what it may do, and the SHA-256 of the token itself. */
export interface TokenEntry {
  name: string;
  scopes: ReadonlySet<Scope>;
  sha256: Buffer;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/**
 * Parses `name:scope[,scope...]:sha256-hex` entries, one per line (blank lines and `#` comments
 * skipped). Only the digest is stored, so the file (or variable) holds no usable secret.
 * Errors name the source and line.
 */
export function parseTokenEntries(text: string, source: string, unit = 'line'): TokenEntry[] {
  const entries: TokenEntry[] = [];
  const names = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line.length === 0 || line.startsWith('#')) return;
    const where = `${source}: ${unit} ${i + 1}`;
    const parts = line.split(':');
    if (parts.length !== 3)
      throw new Error(`${where}: expected "name:scopes:sha256-of-token" (3 fields separated by ":")`);
    const [name, scopeList, digest] = parts as [string, string, string];
    if (!NAME.test(name))
      throw new Error(`${where}: the name must be 1-64 letters, digits, ".", "_", "@" or "-"`);
    if (names.has(name)) throw new Error(`${where}: the name "${name}" is used twice`);
    names.add(name);
    const scopes = new Set<Scope>();
    for (const s of scopeList.split(',').map((v) => v.trim())) {
      if (!isScope(s))
        throw new Error(`${where}: unknown scope "${s.slice(0, 32)}" (scopes: ${SCOPES.join(', ')})`);
      scopes.add(s);
    }
    if (!HEX_SHA256.test(digest))
      throw new Error(
        `${where}: the third field must be the SHA-256 of the token in hex (64 characters), not the token`,
      );
    entries.push({ name, scopes, sha256: Buffer.from(digest, 'hex') });
  });
  return entries;
}

export function sha256(token: string | Buffer): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * The entry whose digest equals the presented token's. Every entry is compared (no early exit)
 * with `timingSafeEqual` on fixed-length digests, so timing tells nothing about which entry or
 * how much of it matched.
 */
export function findToken(entries: readonly TokenEntry[], token: string): TokenEntry | undefined {
  const digest = sha256(token);
  let found: TokenEntry | undefined;
  for (const entry of entries) if (timingSafeEqual(entry.sha256, digest) && !found) found = entry;
  return found;
}
