import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** libs/core `saveModel` writes `<root>/.<name>.tmp-<pid>-<hex>` and renames it into place. */
const TEMP_ARTIFACT = /^\.(.+)\.tmp-(\d+)-[0-9a-f]+$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Removes artifact temp directories a killed `train` left behind: those whose writer process is
 * gone from this host, and those older than `olderThanMs` (a writer on another host sharing the
 * folder). Call it while holding the `train` lease: then no live trainer is writing one. Returns
 * the names removed.
 */
export function removeTempArtifacts(root: string, olderThanMs: number): string[] {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return []; // no artifacts folder yet
  }
  const removed: string[] = [];
  const now = Date.now();
  for (const name of names) {
    const match = TEMP_ARTIFACT.exec(name);
    if (!match) continue;
    const dir = join(root, name);
    const pid = Number(match[2]);
    let old = false;
    try {
      old = now - statSync(dir).mtimeMs > olderThanMs;
    } catch {
      continue; // gone meanwhile
    }
    if (pid !== process.pid && (!alive(pid) || old)) {
      rmSync(dir, { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}
