import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (bind to 0, read the port, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface ServerProcess {
  port: number;
  child: ChildProcess;
  /** SIGTERM, then wait for the drain; SIGKILL after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** Starts `node <mainJs> --port P --database D --artifacts A` with its logs going to `onLog`. */
export async function startServer(
  mainJs: string,
  database: string,
  artifacts: string,
  onLog: (line: string) => void,
): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      mainJs,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      '--database',
      database,
      '--artifacts',
      artifacts,
      '--metrics',
      'false',
      '--poll-interval-ms',
      '1000',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const pump = (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach(onLog);
  child.stdout?.on('data', pump);
  child.stderr?.on('data', pump);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    port,
    child,
    stop: async (timeoutMs = 15_000) => {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
