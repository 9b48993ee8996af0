import { readFileSync } from 'node:fs';
import { ServerCredentials } from '@grpc/grpc-js';
import type { ServingConfig } from '../config/config';

/** Plaintext, TLS (cert + key) or mutual TLS (plus a client CA: client certificates required). */
export function serverCredentials(config: ServingConfig): ServerCredentials {
  if (config.tlsCert === undefined || config.tlsKey === undefined) return ServerCredentials.createInsecure();
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new Error(`cannot read ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const ca = config.tlsClientCa !== undefined ? read(config.tlsClientCa, '--tls-client-ca') : null;
  return ServerCredentials.createSsl(
    ca,
    [{ cert_chain: read(config.tlsCert, '--tls-cert'), private_key: read(config.tlsKey, '--tls-key') }],
    ca !== null,
  );
}
