import { timingSafeEqual } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { unauthenticated } from './errors';

/** Checks `authorization: Bearer <token>` against the configured tokens; no tokens = auth off. */
export class BearerAuth {
  private readonly tokens: Buffer[];

  constructor(tokens: readonly string[]) {
    this.tokens = tokens.map((t) => Buffer.from(t));
  }

  get enabled(): boolean {
    return this.tokens.length > 0;
  }

  check(metadata: Metadata | undefined): void {
    if (!this.enabled) return;
    const header = metadata?.get('authorization')[0];
    if (typeof header !== 'string' || header.length === 0)
      throw unauthenticated('missing "authorization: Bearer <token>" metadata');
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match) throw unauthenticated('authorization metadata must be "Bearer <token>"');
    const given = Buffer.from(match[1] as string);
    // Constant-time comparison so response timing does not leak token prefixes.
    const ok = this.tokens.some((t) => t.length === given.length && timingSafeEqual(t, given));
    if (!ok) throw unauthenticated('invalid bearer token');
  }
}
