import { readFileSync } from 'node:fs';
import type { Metadata } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import { permissionDenied, unauthenticated } from '../grpc/errors';
import { certPrincipal } from './cert-subject';
import type { Scope } from './scopes';
import { findToken, parseTokenEntries, type TokenEntry } from './token-table';

/** Who made a call, as audit lines and errors name it. */
export interface Principal {
  name: string;
  scopes: ReadonlySet<Scope>;
}

export interface AuthSources {
  /** `name:scopes:sha256` lines read from the environment (WARMSTART_AUTH_TOKENS). */
  envEntries: readonly string[];
  /** A file of such lines (`--auth-tokens-file`), read at start and again on `reload()`. */
  file?: string;
  /** With mutual TLS: a client certificate's `OU=warmstart.<scope>` attributes grant scopes. */
  certScopes: boolean;
}

/** The principal of calls made while auth is off. */
export const ANONYMOUS: Principal = { name: 'anonymous', scopes: new Set(['recommend', 'ingest', 'admin']) };

/**
 * Authenticates a call from its `authorization: Bearer <token>` metadata (tokens from the
 * environment and/or a token file, reloadable) or, when enabled, its verified client
 * certificate; then checks the scope the RPC needs. Auth is on as soon as any source is
 * configured (an empty token file included: then nothing is accepted).
 */
export class Authenticator {
  private entries: readonly TokenEntry[];

  constructor(private readonly sources: AuthSources) {
    this.entries = this.load();
  }

  get enabled(): boolean {
    return this.sources.envEntries.length > 0 || this.sources.file !== undefined || this.sources.certScopes;
  }

  get tokenCount(): number {
    return this.entries.length;
  }

  /** Reads the token file again (SIGHUP). A bad file throws and leaves the current tokens in force. */
  reload(): number {
    this.entries = this.load();
    return this.entries.length;
  }

  /**
   * The caller's principal. Throws UNAUTHENTICATED for a missing, malformed or unknown token and
   * for more than one `authorization` header (never "first one wins").
   */
  authenticate(metadata: Metadata, peer: PeerCertificate | undefined): Principal {
    if (!this.enabled) return ANONYMOUS;
    const headers = metadata.get('authorization');
    if (headers.length > 1) throw unauthenticated('more than one "authorization" header');
    const header = headers[0];
    if (header === undefined || (typeof header === 'string' && header.length === 0)) {
      const cert = this.sources.certScopes ? certPrincipal(peer) : undefined;
      if (cert) return cert;
      throw unauthenticated(
        this.sources.certScopes
          ? 'missing "authorization: Bearer <token>" metadata or a client certificate'
          : 'missing "authorization: Bearer <token>" metadata',
      );
    }
    const match = typeof header === 'string' ? /^Bearer +(\S+) *$/i.exec(header) : null;
    if (!match) throw unauthenticated('authorization metadata must be "Bearer <token>"');
    const entry = findToken(this.entries, match[1] as string);
    if (!entry) throw unauthenticated('invalid bearer token');
    return { name: entry.name, scopes: entry.scopes };
  }

  /** PERMISSION_DENIED naming the scope the RPC needs when the principal lacks it. */
  authorize(principal: Principal, needed: Scope, rpc: string): void {
    if (principal.scopes.has(needed)) return;
    const has = [...principal.scopes].join(', ') || 'no scope';
    throw permissionDenied(`${rpc} needs the "${needed}" scope; ${principal.name} has ${has}`);
  }

  private load(): TokenEntry[] {
    const fromEnv = parseTokenEntries(this.sources.envEntries.join('\n'), 'WARMSTART_AUTH_TOKENS', 'entry');
    if (this.sources.file === undefined) return fromEnv;
    let text: string;
    try {
      text = readFileSync(this.sources.file, 'utf8');
    } catch (err) {
      throw new Error(`--auth-tokens-file: cannot read ${this.sources.file}: ${(err as Error).message}`);
    }
    const fromFile = parseTokenEntries(text, `--auth-tokens-file ${this.sources.file}`);
    const names = new Set(fromEnv.map((e) => e.name));
    const clash = fromFile.find((e) => names.has(e.name));
    if (clash)
      throw new Error(`token name "${clash.name}" is both in WARMSTART_AUTH_TOKENS and the token file`);
    return [...fromEnv, ...fromFile];
  }
}
