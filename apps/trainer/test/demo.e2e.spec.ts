import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { MAIN, haveDist } from './support/trainer-process';

// `npm run demo -- --movielens <dir>` end to end: import, train, evaluate, serve and call the
// server, as the README shows it. The dataset is never copied into the repo: ../shared next to
// the checkout, or WARMSTART_ML100K.
const ROOT = path.resolve(__dirname, '../../..');
const DIR = process.env['WARMSTART_ML100K'] ?? path.resolve(ROOT, '../shared/datasets/ml-100k');
const SERVER = path.join(ROOT, 'apps/serving/dist/main.js');
const present = existsSync(path.join(DIR, 'u.item'));
const ready = haveDist && existsSync(SERVER);
if (!present) console.warn(`demo e2e test skipped: ${DIR}/u.item not found (set WARMSTART_ML100K)`);
else if (!ready) console.warn(`demo e2e test skipped: ${MAIN} or ${SERVER} is not built (npm run build)`);

(present && ready ? describe : describe.skip)('the demo on MovieLens-100K', () => {
  it('runs every step and names items by their titles, not bare ids', () => {
    const r = spawnSync(process.execPath, [MAIN, 'demo', '--movielens', DIR], {
      cwd: ROOT, // the demo finds the built server from the repository root, as `npm run demo` runs it
      env: { ...process.env, WARMSTART_LOG_FORMAT: 'json' },
      encoding: 'utf8',
      timeout: 240_000,
    });
    const store = /fresh SQLite store (\S+\.db)/.exec(r.stdout)?.[1];
    try {
      expect(r.status).toBe(0);
      // The new user's support items and the recommendations carry MovieLens titles with their ids.
      expect(r.stdout).toMatch(/support: .+ \(\d{4}\) \[\d+\]=\d/);
      expect(r.stdout).toMatch(/\n\s+.+ \(\d{4}\) \[\d+\]\s+predicted \d\.\d{3}/);
      expect(r.stdout).toContain('server exited with code 0');
    } finally {
      if (store) {
        rmSync(store, { force: true });
        rmSync(store.replace(/\.db$/, '-report'), { recursive: true, force: true });
        rmSync(store.replace(/\.db$/, '-models'), { recursive: true, force: true });
        rmSync(store.replace(/\.db$/, '.config.json'), { force: true });
      }
    }
  }, 300_000);
});
