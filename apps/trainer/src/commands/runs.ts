import type { TrainingRunRecord } from '@warmstart/feature-store/registry';
import { withStore } from '../data/store';
import type { CommandContext } from './context';
import type { RegistryFlags } from './models';

function line(r: TrainingRunRecord): string {
  const seconds = r.finishedAt
    ? ((r.finishedAt.getTime() - r.startedAt.getTime()) / 1000).toFixed(1) + 's'
    : '';
  return [
    r.id.padEnd(38),
    r.kind.padEnd(9),
    r.status.padEnd(10),
    r.startedAt.toISOString(),
    seconds,
    r.error ?? '',
  ].join(' ');
}

/** `runs list` (newest first). */
export async function runsList(
  flags: RegistryFlags & { status?: string; limit?: number },
  ctx: CommandContext,
): Promise<void> {
  await withStore(flags.database, async (store) => {
    const runs = await store.runs.list({
      limit: flags.limit ?? 50,
      ...(flags.status ? { status: flags.status as TrainingRunRecord['status'] } : {}),
    });
    ctx.out(flags.json ? JSON.stringify(runs, null, 2) : runs.length ? runs.map(line).join('\n') : 'no runs');
  });
}

/** `runs show <id>` */
export async function runsShow(id: string, flags: RegistryFlags, ctx: CommandContext): Promise<void> {
  await withStore(flags.database, async (store) => {
    const r = await store.runs.get(id);
    if (!r) throw new Error(`run ${id} not found`);
    ctx.out(JSON.stringify(r, null, 2));
  });
}
