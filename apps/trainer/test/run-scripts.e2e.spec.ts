import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { syntheticImportArgs } from './support/run-cli';
import { MAIN, haveDist, runTrainer } from './support/trainer-process';

const ROOT = path.resolve(__dirname, '../../..');
const ENV = { WARMSTART_BACKEND: 'cpu', WARMSTART_LOG_FORMAT: 'json' };

if (!haveDist) console.warn(`${MAIN} not found: the run-script process tests are skipped (build first)`);

describe('Nx under the run scripts', () => {
  it('never asks the analytics question nor connects to Nx Cloud (nx.json)', () => {
    const nx = JSON.parse(readFileSync(path.join(ROOT, 'nx.json'), 'utf8')) as Record<string, unknown>;
    expect(nx['analytics']).toBe(false);
    expect(nx['neverConnectToCloud']).toBe(true);
  });

  it('a cached build prints nothing; a real one names what it builds', () => {
    // Nx's cache in effect whatever ran these tests: `nx test --skip-nx-cache` passes
    // NX_SKIP_NX_CACHE down to every nx its children start.
    const env = { ...process.env };
    delete env['NX_SKIP_NX_CACHE'];
    const build = (...extra: string[]) =>
      spawnSync(process.execPath, ['tools/quiet-build.mjs', 'build', '@warmstart/contracts', ...extra], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 300_000,
        env,
      });
    expect(build().status).toBe(0); // builds if needed
    const again = build();
    expect(again.status).toBe(0);
    expect(again.stdout + again.stderr).toBe('');
    const forced = build('--skip-nx-cache');
    expect(forced.status).toBe(0);
    expect(forced.stdout).toBe('');
    expect(forced.stderr).toMatch(/^building @warmstart\/contracts:build\.\.\.\nbuilt in [\d.]+ s\n$/);
  }, 330_000);
});

describe('the bins', () => {
  it.each([
    ['warmstart-trainer', 'Usage: warmstart-trainer'],
    ['warmstart-serve', 'Usage: warmstart-serve'],
  ])('%s is linked by npm and runs', (bin, usage) => {
    const r = spawnSync(path.join(ROOT, 'node_modules/.bin', bin), ['--help'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (!haveDist) return; // linked, but not built yet
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(usage);
  });

  it('says how to build when dist/ is missing', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bin-'));
    try {
      mkdirSync(path.join(dir, 'bin'));
      const bin = path.join(dir, 'bin', 'warmstart-trainer.js');
      copyFileSync(path.join(__dirname, '../bin/warmstart-trainer.js'), bin);
      const r = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(
        `warmstart-trainer is not built (${path.join(dir, 'dist', 'main.js')} is missing): run \`npx nx build @warmstart/trainer\`\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

(haveDist ? describe : describe.skip)('Ctrl-C as a terminal delivers it', () => {
  let dir: string;
  let args: string[];
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'trainer-ctrl-c-'));
    const database = path.join(dir, 'w.db');
    await runTrainer(syntheticImportArgs(database, 60), ENV, 60_000);
    const config = path.join(dir, 'long.json');
    // Long enough that it is still meta-training when interrupted (no early stopping).
    writeFileSync(
      config,
      JSON.stringify({
        model: { embeddingDim: 4, hidden: [8] },
        train: { epochs: 200, patience: 0, metaBatchSize: 16 },
      }),
    );
    args = ['train', '--config', config, '--database', database, '--artifacts', path.join(dir, 'models')];
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts `command` in its own process group, as a shell starts a foreground job. */
  function job(command: string, argv: string[]) {
    const child = spawn(command, argv, {
      cwd: ROOT,
      env: { ...process.env, ...ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdout.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const started = new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (stderr.includes('"msg":"training run started"')) {
          clearInterval(timer);
          resolve();
        }
      }, 50);
      void exited.then(() => {
        clearInterval(timer);
        reject(new Error(`exited before training started:\n${stderr}`));
      });
    });
    return { child, exited, started, output: () => stderr };
  }

  function expectSafeStop(output: string, signal = 'SIGINT'): void {
    expect(output.match(new RegExp(`${signal}: stopping at the next safe point`, 'g'))).toHaveLength(1);
    expect(output).toMatch(new RegExp(`cancelled: (training interrupted|interrupted by ${signal})`));
    expect(output).toContain('"msg":"training cancelled; resume with --resume"');
  }

  it('one press that arrives twice (terminal and npm) stops at the safe point, not at once', async () => {
    const t = job(process.execPath, [MAIN, ...args]);
    try {
      await t.started;
      // npm forwards its copy a moment after the terminal's (signals sent back to back would merge
      // into one pending signal in the kernel).
      process.kill(t.child.pid!, 'SIGINT');
      await new Promise((r) => setTimeout(r, 100));
      process.kill(t.child.pid!, 'SIGINT');
      expect(await t.exited).toBe(130);
      expectSafeStop(t.output());
    } finally {
      if (t.child.exitCode === null) process.kill(-t.child.pid!, 'SIGKILL');
    }
  }, 120_000);

  it('`npm run trainer`: Ctrl-C to the foreground group stops training safely and npm exits 130', async () => {
    const t = job('npm', ['run', 'trainer', '--', ...args]);
    try {
      await t.started;
      process.kill(-t.child.pid!, 'SIGINT'); // the whole group, like the terminal
      expect(await t.exited).toBe(130);
      expectSafeStop(t.output());
    } finally {
      if (t.child.exitCode === null) process.kill(-t.child.pid!, 'SIGKILL');
    }
  }, 300_000);

  it('`npm run trainer`: SIGTERM to npm alone (a supervisor stopping it) reaches the trainer, which stops safely; npm exits 130', async () => {
    const t = job('npm', ['run', 'trainer', '--', ...args]);
    try {
      await t.started;
      process.kill(t.child.pid!, 'SIGTERM'); // npm only, not its group
      expect(await t.exited).toBe(130);
      expectSafeStop(t.output(), 'SIGTERM');
    } finally {
      if (t.child.exitCode === null) process.kill(-t.child.pid!, 'SIGKILL');
    }
  }, 300_000);
});
