import type { PeerCertificate } from 'node:tls';
import { isScope, type Scope } from './scopes';

/** The OU prefix that marks a scope in a client certificate's subject: `OU=warmstart.ingest`. */
export const CERT_SCOPE_PREFIX = 'warmstart.';

export interface CertPrincipal {
  /** `cert:<subject CN>` (or the whole subject when it has no CN), for logs and audit lines. */
  name: string;
  scopes: ReadonlySet<Scope>;
}

const values = (v: string | string[] | undefined): string[] => (v === undefined ? [] : [v].flat());

/**
 * A verified client certificate's subject as a principal: every `OU=warmstart.<scope>` attribute
 * grants that scope (several OU attributes may be given); other OU values are ignored. Only
 * certificates the TLS layer verified against `--tls-client-ca` reach here.
 */
export function certPrincipal(cert: PeerCertificate | undefined): CertPrincipal | undefined {
  const subject = cert?.subject as unknown as Record<string, string | string[]> | undefined;
  if (!subject) return undefined;
  const scopes = new Set<Scope>();
  for (const ou of values(subject['OU'])) {
    const scope = ou.startsWith(CERT_SCOPE_PREFIX) ? ou.slice(CERT_SCOPE_PREFIX.length) : '';
    if (isScope(scope)) scopes.add(scope);
  }
  const cn = values(subject['CN'])[0];
  const label =
    cn ??
    Object.entries(subject)
      .map(([k, v]) => `${k}=${values(v).join('+')}`)
      .join(',');
  return { name: `cert:${label.slice(0, 128)}`, scopes };
}
