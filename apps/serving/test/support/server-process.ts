import { initBackend, saveModel } from '@warmstart/core';
import { openFeatureStore } from '@warmstart/feature-store';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { makeModel, seedWorld } from './world';

/** The built server; process tests skip (with a warning) when it has not been built. */
export const MAIN = path.resolve(__dirname, '../../dist/main.js');
export const haveDist = existsSync(MAIN);

/** One JSON log line of the server (pino). */
export type LogEntry = Record<string, unknown> & { msg?: string; pid?: number };

/** `node apps/serving/dist/main.js` as a child process, with its JSON log lines collected. */
export class ServerProcess {
  readonly child: ChildProcess;
  readonly entries: LogEntry[] = [];
  private readonly raw: string[] = [];
  private waiters: Array<{ test: (e: LogEntry) => boolean; resolve: (e: LogEntry) => void }> = [];
  /**
   * Resolves with the exit code once the process has exited and all its output has been read
   * (the child's 'close', not 'exit': at 'exit' its last lines may still be in the pipe). Processes
   * that share its stdout, such as the workers of `--workers N`, must have exited too.
   */
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      this.raw.push(chunk.toString());
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) this.add(line);
    });
    this.child.stderr?.on('data', (chunk: Buffer) => this.raw.push(chunk.toString()));
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** Everything the process printed so far (for failure messages). */
  get output(): string {
    return this.raw.join('');
  }

  /**
   * The first log entry (already seen or future) that passes `test`; rejects, with what the
   * process printed, if it exits first or nothing matches within `timeoutMs` (so a test fails and
   * cleans up instead of hanging until Jest's timeout).
   */
  waitFor(test: (e: LogEntry) => boolean, what = 'log line', timeoutMs = 30_000): Promise<LogEntry> {
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
        reject(new Error(`server exited (${code}) before the ${what}:\n${this.output}`));
      });
    });
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
      return; // not a JSON log line
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

/**
 * A temporary directory with a seeded SQLite store (`test.db`) and one saved, registered model
 * `m1` under `models/` (promoted when asked): what a server process is started on. The store is
 * closed before this resolves, so the child process is its only user.
 */
export async function diskWorld(prefix: string, options: { promote?: boolean } = {}): Promise<DiskWorld> {
  await initBackend({ prefer: 'cpu' });
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const world = { dir, database: path.join(dir, 'test.db'), artifacts: path.join(dir, 'models') };
  const store = await openFeatureStore(world.database);
  try {
    await seedWorld(store);
    mkdirSync(world.artifacts, { recursive: true });
    const model = makeModel(1);
    await saveModel(model, path.join(world.artifacts, 'm1'), {});
    model.dispose();
    await store.registry.registerModel({ modelId: 'm1', algorithm: 'melu', artifactUri: 'm1' });
    if (options.promote) await store.registry.promote('m1');
  } finally {
    await store.close();
  }
  return { ...world, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface DiskWorld {
  dir: string;
  database: string;
  artifacts: string;
  remove(): void;
}
