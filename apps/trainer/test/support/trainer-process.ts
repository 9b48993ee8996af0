import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';

/** The built trainer; process tests skip (with a warning) when it has not been built. */
export const MAIN = path.resolve(__dirname, '../../dist/main.js');
export const haveDist = existsSync(MAIN);

/** One pino JSON log line of the trainer (stderr). */
export type LogEntry = Record<string, unknown> & { msg?: string; level?: number };

/**
 * `node apps/trainer/dist/main.js <args>` as a child process. Logs (pino JSON on stderr, the
 * throttled progress lines included since stderr is not a TTY) are parsed; stdout (command
 * results) is kept as text.
 */
export class TrainerProcess {
  readonly child: ChildProcess;
  readonly entries: LogEntry[] = [];
  private readonly raw: string[] = [];
  private readonly stdoutChunks: string[] = [];
  private waiters: Array<{ test: (e: LogEntry) => boolean; resolve: (e: LogEntry) => void }> = [];
  /** Resolves with the exit code (null when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;

  constructor(
    readonly args: string[],
    env: NodeJS.ProcessEnv = {},
  ) {
    this.child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.raw.push(chunk.toString());
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) this.add(line);
    });
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.stdoutChunks.push(chunk.toString());
      this.raw.push(chunk.toString());
    });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** What the command printed on stdout (results). */
  get stdout(): string {
    return this.stdoutChunks.join('');
  }

  /** Everything the process printed so far, both streams (for failure messages). */
  get output(): string {
    return `$ warmstart-trainer ${this.args.join(' ')}\n${this.raw.join('')}`;
  }

  /**
   * The first log entry (already seen or future) that passes `test`; rejects, with what the
   * process printed, if it exits first or nothing matches within `timeoutMs`, so a test fails
   * instead of hanging until Jest's timeout.
   */
  waitFor(test: (e: LogEntry) => boolean, what: string, timeoutMs = 30_000): Promise<LogEntry> {
    const seen = this.entries.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`no ${what} within ${timeoutMs} ms:\n${this.output}`));
      }, timeoutMs);
      const done = (entry: LogEntry) => {
        clearTimeout(timer);
        resolve(entry);
      };
      this.waiters.push({ test, resolve: done });
      void this.exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`trainer exited (${code}) before the ${what}:\n${this.output}`));
      });
    });
  }

  /** The exit code, or a rejection with the output if the process is still running after `timeoutMs`. */
  async exit(timeoutMs = 30_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`trainer still running after ${timeoutMs} ms:\n${this.output}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the process if it is still running (test clean-up). */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  private add(line: string): void {
    let entry: LogEntry;
    try {
      entry = JSON.parse(line) as LogEntry;
    } catch {
      return; // not a JSON log line (e.g. "SIGINT: stopping at the next safe point")
    }
    this.entries.push(entry);
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter && waiter.test(entry)) {
        this.waiters.splice(i, 1);
        waiter.resolve(entry);
      }
    }
  }
}

/** Runs a trainer command to completion; rejects with its output unless it exits with `expectCode`. */
export async function runTrainer(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = 30_000,
  expectCode = 0,
): Promise<TrainerProcess> {
  const p = new TrainerProcess(args, env);
  try {
    const code = await p.exit(timeoutMs);
    if (code !== expectCode) throw new Error(`exit code ${code}, expected ${expectCode}:\n${p.output}`);
    return p;
  } finally {
    p.kill();
  }
}

/** Polls `check` every 25 ms until it returns true; rejects with `describe()` after `timeoutMs`. */
export async function pollUntil(
  check: () => boolean,
  what: string,
  describe: () => string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms:\n${describe()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
