import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ModelRegistryServiceClient, SERVICE_NAMES } from '@warmstart/contracts';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { call, codeOf, healthClient, startHarness, tempStore, type Harness } from './support/harness';

/** Throwaway CA, server cert (SAN 127.0.0.1/localhost) and client cert, made with the openssl CLI. */
function makeCerts(dir: string): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    return false;
  }
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=warmstart-test-ca',
  );
  const leaf = (name: string, ext: string, serial: string, subject = `/CN=${name}`) => {
    writeFileSync(path.join(dir, `${name}.ext`), ext);
    ssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      serial,
      '-days',
      '1',
      '-out',
      `${name}.crt`,
      '-extfile',
      `${name}.ext`,
    );
  };
  leaf('server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n', '2');
  leaf('client', 'extendedKeyUsage=clientAuth\n', '3');
  // Scopes in the subject (README "Security"): OU=warmstart.<scope>, several OU attributes allowed.
  leaf('reader', 'extendedKeyUsage=clientAuth\n', '4', '/CN=reader/OU=warmstart.recommend/OU=analytics');
  leaf(
    'operator',
    'extendedKeyUsage=clientAuth\n',
    '5',
    '/CN=operator/OU=warmstart.admin/OU=warmstart.recommend',
  );
  return true;
}

const deadline = () => ({ deadline: Date.now() + 2000 });
/** Dial 127.0.0.1 but verify the certificate as "localhost" (no IP as TLS server name). */
const CHANNEL = { 'grpc.ssl_target_name_override': 'localhost' };

async function healthStatus(address: string, creds: grpc.ChannelCredentials): Promise<string> {
  const { HealthClient } = healthClient();
  const health = new HealthClient(address, creds, CHANNEL);
  try {
    return await new Promise<string>((resolve, reject) =>
      health.check(
        { service: '' },
        new grpc.Metadata(),
        deadline(),
        (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r.status)),
      ),
    );
  } finally {
    health.close();
  }
}

async function listModels(address: string, creds: grpc.ChannelCredentials): Promise<unknown> {
  const client = new ModelRegistryServiceClient(address, creds, CHANNEL);
  try {
    return await call(client, client.listModels as never, { status: 0 }, deadline());
  } finally {
    client.close();
  }
}

/** A server on its own temp store; closing it closes and removes the store. */
async function startOwn(
  overrides: Parameters<typeof startHarness>[2] = {},
): Promise<Harness & { stop(): Promise<void> }> {
  const { store, dispose } = await tempStore();
  const h = await startHarness(store, {}, overrides);
  return Object.assign(h, {
    async stop() {
      await h.close();
      dispose();
    },
  });
}

describe('transport: TLS, mutual TLS and server reflection', () => {
  let certDir: string;
  let haveOpenssl = false;
  const pem = (name: string) => readFileSync(path.join(certDir, name));

  beforeAll(async () => {
    certDir = mkdtempSync(path.join(tmpdir(), 'warmstart-tls-'));
    haveOpenssl = makeCerts(certDir);
    if (!haveOpenssl) console.warn('openssl CLI not found: TLS and mutual TLS tests are skipped');
  });
  afterAll(() => {
    rmSync(certDir, { recursive: true, force: true });
  });

  it('TLS: a client trusting the CA is served; a plaintext client is refused', async () => {
    if (!haveOpenssl) return;
    const h = await startOwn({
      tlsCert: path.join(certDir, 'server.crt'),
      tlsKey: path.join(certDir, 'server.key'),
    });
    try {
      const tls = grpc.credentials.createSsl(pem('ca.crt'));
      expect(await healthStatus(h.address, tls)).toBe('SERVING');
      expect(await codeOf(listModels(h.address, tls))).toBe('OK');
      expect(await codeOf(listModels(h.address, grpc.credentials.createInsecure()))).toMatch(
        /UNAVAILABLE|DEADLINE_EXCEEDED/,
      );
      // A client that does not trust the issuing CA fails the handshake.
      expect(await codeOf(listModels(h.address, grpc.credentials.createSsl()))).toBe('UNAVAILABLE');
    } finally {
      await h.stop();
    }
  });

  it('mutual TLS: a client certificate signed by --tls-client-ca is required', async () => {
    if (!haveOpenssl) return;
    const h = await startOwn({
      tlsCert: path.join(certDir, 'server.crt'),
      tlsKey: path.join(certDir, 'server.key'),
      tlsClientCa: path.join(certDir, 'ca.crt'),
    });
    try {
      const withCert = grpc.credentials.createSsl(pem('ca.crt'), pem('client.key'), pem('client.crt'));
      expect(await healthStatus(h.address, withCert)).toBe('SERVING');
      expect(await codeOf(listModels(h.address, withCert))).toBe('OK');
      const noCert = grpc.credentials.createSsl(pem('ca.crt'));
      expect(await codeOf(listModels(h.address, noCert))).toBe('UNAVAILABLE');
      expect(await codeOf(listModels(h.address, grpc.credentials.createInsecure()))).toMatch(
        /UNAVAILABLE|DEADLINE_EXCEEDED/,
      );
    } finally {
      await h.stop();
    }
  });

  it('mutual TLS with --tls-client-scopes: OU=warmstart.<scope> in the certificate subject grants scopes', async () => {
    if (!haveOpenssl) return;
    const h = await startOwn({
      tlsCert: path.join(certDir, 'server.crt'),
      tlsKey: path.join(certDir, 'server.key'),
      tlsClientCa: path.join(certDir, 'ca.crt'),
      tlsClientScopes: true,
    });
    try {
      const creds = (name: string) =>
        grpc.credentials.createSsl(pem('ca.crt'), pem(`${name}.key`), pem(`${name}.crt`));
      const denied = (await listModels(h.address, creds('reader')).catch(
        (e: unknown) => e,
      )) as grpc.ServiceError;
      expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(denied.details).toBe(
        'ModelRegistryService/ListModels needs the "admin" scope; cert:reader has recommend',
      );
      expect(await codeOf(listModels(h.address, creds('operator')))).toBe('OK');
      // A certificate without scope attributes authenticates the connection but grants nothing.
      expect(await codeOf(listModels(h.address, creds('client')))).toBe('PERMISSION_DENIED');
      expect(await healthStatus(h.address, creds('client'))).toBe('SERVING');
    } finally {
      await h.stop();
    }
  });

  describe.each(['v1', 'v1alpha'])('server reflection (grpc.reflection.%s)', (version) => {
    let h: Awaited<ReturnType<typeof startOwn>>;
    beforeAll(async () => {
      h = await startOwn();
    });
    afterAll(() => h.stop());

    it('lists the three warmstart services and grpc.health.v1.Health', async () => {
      const reflectionDir = path.join(
        path.dirname(require.resolve('@grpc/reflection/package.json')),
        'build/proto',
      );
      const def = loadSync(`grpc/reflection/${version}/reflection.proto`, {
        includeDirs: [reflectionDir],
        keepCase: false,
        oneofs: true,
      });
      const pkg = grpc.loadPackageDefinition(def) as unknown as {
        grpc: { reflection: Record<string, { ServerReflection: grpc.ServiceClientConstructor }> };
      };
      const Client = (pkg.grpc.reflection[version] as { ServerReflection: grpc.ServiceClientConstructor })
        .ServerReflection;
      const client = new Client(h.address, grpc.credentials.createInsecure());
      try {
        const names = await new Promise<string[]>((resolve, reject) => {
          const stream = (
            client as unknown as {
              serverReflectionInfo(o: grpc.CallOptions): grpc.ClientDuplexStream<unknown, unknown>;
            }
          ).serverReflectionInfo(deadline());
          stream.on(
            'data',
            (res: { listServicesResponse?: { service: { name: string }[] }; errorResponse?: unknown }) => {
              if (res.listServicesResponse) resolve(res.listServicesResponse.service.map((s) => s.name));
              else reject(new Error(`unexpected reflection reply ${JSON.stringify(res)}`));
              stream.end();
            },
          );
          stream.on('error', reject);
          stream.write({ listServices: '*' });
        });
        expect(names).toEqual(
          expect.arrayContaining([
            SERVICE_NAMES.recommender,
            SERVICE_NAMES.featureStore,
            SERVICE_NAMES.modelRegistry,
            'grpc.health.v1.Health',
          ]),
        );
      } finally {
        client.close();
      }
    });
  });
});
