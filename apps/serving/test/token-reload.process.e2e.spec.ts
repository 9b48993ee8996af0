import * as grpc from '@grpc/grpc-js';
import { FeatureStoreServiceClient } from '@warmstart/contracts';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { call, codeOf } from './support/harness';
import { MAIN, ServerProcess, diskWorld, haveDist } from './support/server-process';
import { tokenEntry } from './support/tokens';

if (!haveDist)
  console.warn(
    `${MAIN} not found: the SIGHUP token reload test is skipped (build first: npx nx run-many -t build)`,
  );

(haveDist ? describe : describe.skip)('SIGHUP on the built server re-reads --auth-tokens-file', () => {
  it('swaps the accepted tokens on SIGHUP and keeps them when the new file is bad', async () => {
    const world = await diskWorld('warmstart-sighup-');
    const file = path.join(world.dir, 'tokens');
    writeFileSync(file, `${tokenEntry('first', 'recommend', 'first-token')}\n`);
    let server: ServerProcess | undefined;
    let client: InstanceType<typeof FeatureStoreServiceClient> | undefined;
    try {
      server = new ServerProcess(
        ['--host', '127.0.0.1', '--port', '0', '--metrics', 'false', '--auth-tokens-file', file],
        {
          WARMSTART_DATABASE: world.database,
          WARMSTART_ARTIFACTS: world.artifacts,
          WARMSTART_LOG_LEVEL: 'info',
        },
      );
      const listening = await server.waitFor((e) => e.msg === 'warmstart-serve listening', 'listening line');
      client = new FeatureStoreServiceClient(
        `127.0.0.1:${String(listening['port'])}`,
        grpc.credentials.createInsecure(),
      );
      const c = client;
      const getItems = (token: string) => {
        const md = new grpc.Metadata();
        md.set('authorization', `Bearer ${token}`);
        return codeOf(call(c, c.getItems as never, { ids: ['i1'] }, {}, md));
      };
      expect(await getItems('first-token')).toBe('OK');
      writeFileSync(file, `${tokenEntry('second', 'recommend', 'second-token')}\n`);
      server.child.kill('SIGHUP');
      await server.waitFor((e) => e.msg === 'auth tokens reloaded', 'reload line');
      expect(await getItems('first-token')).toBe('UNAUTHENTICATED');
      expect(await getItems('second-token')).toBe('OK');
      writeFileSync(file, 'second:recommend:second-token\n');
      server.child.kill('SIGHUP');
      await server.waitFor(
        (e) => e.msg === 'auth tokens not reloaded: keeping the ones in force',
        'refusal line',
      );
      expect(await getItems('second-token')).toBe('OK');
      expect(server.output).not.toContain('second-token'); // the log never holds a token
    } finally {
      client?.close();
      server?.kill();
      world.remove();
    }
  });
});
