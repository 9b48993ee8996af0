import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** What a child process printed and how it ended. */
export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The JSON value the child passed to `finish()` (child-runtime.ts), if any. */
  result: unknown;
}

const REGISTER = join(__dirname, 'register-ts.cjs');
export const CHILDREN = join(__dirname, 'children');

/**
 * Runs one TypeScript child script per argument list as separate `node` processes. Children call
 * `ready()` (child-runtime.ts) once set up; only when every child is ready do they all get "go",
 * so their work really overlaps (better-sqlite3 is synchronous: Promise.all inside one process
 * would run it one after another). `guardMs` only kills hung children so a regression fails
 * instead of stalling the suite; nothing asserts on elapsed time.
 */
export async function runTogether(
  script: string,
  argLists: string[][],
  guardMs = 45_000,
): Promise<ChildResult[]> {
  const procs: { child: ChildProcess; out: string; err: string; ready: boolean }[] = [];
  const exits: Promise<ChildResult>[] = [];
  let go: () => void = () => undefined;
  const allReady = new Promise<void>((resolve) => (go = resolve));
  const guard = setTimeout(() => procs.forEach((p) => p.child.kill('SIGKILL')), guardMs);
  for (const args of argLists) {
    const child = spawn(process.execPath, ['-r', REGISTER, join(CHILDREN, script), ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const p = { child, out: '', err: '', ready: false };
    procs.push(p);
    child.stdout!.on('data', (d: Buffer) => {
      p.out += d.toString();
      if (!p.ready && p.out.includes('ready\n')) {
        p.ready = true;
        if (procs.length === argLists.length && procs.every((q) => q.ready)) go();
      }
    });
    child.stderr!.on('data', (d: Buffer) => (p.err += d.toString()));
    exits.push(
      new Promise((resolve) =>
        child.on('close', (code, signal) => {
          const line = p.out.split('\n').find((l) => l.startsWith('result '));
          resolve({
            code,
            signal,
            stdout: p.out,
            stderr: p.err,
            result: line ? JSON.parse(line.slice('result '.length)) : undefined,
          });
          // A child that dies before it is ready must not keep the others waiting forever.
          if (!p.ready) go();
        }),
      ),
    );
  }
  void allReady.then(() => procs.forEach((p) => p.child.stdin!.end('go\n')));
  try {
    return await Promise.all(exits);
  } finally {
    clearTimeout(guard);
  }
}
