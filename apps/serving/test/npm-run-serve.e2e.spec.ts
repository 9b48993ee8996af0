import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { diskWorld, haveDist, MAIN } from './support/server-process';

const ROOT = path.resolve(__dirname, '../../..');

if (!haveDist) console.warn(`${MAIN} not found: the \`npm run serve\` test is skipped (build first)`);

/** Whether something still listens on the loopback port (binding it fails). */
async function portInUse(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(true));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

(haveDist ? describe : describe.skip)('`npm run serve` (the README command)', () => {
  it('passes SIGTERM to the server: it drains, frees its port, and npm exits 0', async () => {
    const world = await diskWorld('warmstart-npm-serve-', { promote: true });
    const npm = spawn(
      'npm',
      ['run', 'serve', '--', '--host', '127.0.0.1', '--port', '0', '--metrics', 'false'],
      {
        cwd: ROOT,
        env: { ...process.env, WARMSTART_DATABASE: world.database, WARMSTART_ARTIFACTS: world.artifacts },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const output: string[] = [];
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    try {
      const listening = await new Promise<{ port: number; pid: number }>((resolve, reject) => {
        let buffer = '';
        npm.stderr.on('data', (c: Buffer) => output.push(c.toString()));
        npm.stdout.on('data', (c: Buffer) => {
          output.push(c.toString());
          buffer += c.toString();
          const lines = buffer.split('\n');
          buffer = lines.pop() ?? '';
          for (const line of lines) {
            if (!line.startsWith('{')) continue; // npm's own header lines
            const entry = JSON.parse(line) as { msg?: string; port?: number; pid?: number };
            if (entry.msg === 'warmstart-serve listening') resolve(entry as { port: number; pid: number });
          }
        });
        void exited.then((code) => reject(new Error(`npm exited (${code}) first:\n${output.join('')}`)));
      });
      expect(await portInUse(listening.port)).toBe(true);
      // The server is npm's own child (the script `exec`s it), not a grandchild behind a shell.
      expect(listening.pid).not.toBe(npm.pid);
      expect(npm.kill('SIGTERM')).toBe(true);

      expect(await exited).toBe(0);
      expect(output.join('')).toContain('"msg":"warmstart-serve stopped"');
      expect(alive(listening.pid)).toBe(false);
      expect(await portInUse(listening.port)).toBe(false);
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
      world.remove();
    }
  }, 180_000);
});
