import type { ModelVersionRecord } from '@warmstart/feature-store/registry';
import { withStore } from '../data/store';
import type { CommandContext } from './context';

export interface RegistryFlags {
  database: string;
  json?: boolean;
}

function line(m: ModelVersionRecord): string {
  const v = m.metrics['validation'];
  const metric = v ? `mae=${v['mae']?.toFixed(4)} ndcg3=${v['ndcg3']?.toFixed(4)}` : '';
  return [
    `v${m.version}`.padEnd(6),
    m.modelId.padEnd(28),
    m.status.padEnd(10),
    m.algorithm.padEnd(10),
    m.createdAt.toISOString(),
    metric,
  ].join(' ');
}

function print(ctx: CommandContext, flags: RegistryFlags, value: unknown, text: () => string): void {
  ctx.out(flags.json ? JSON.stringify(value, null, 2) : text());
}

/** `models list` (newest first). */
export async function modelsList(
  flags: RegistryFlags & { status?: string },
  ctx: CommandContext,
): Promise<void> {
  await withStore(flags.database, async (store) => {
    const all: ModelVersionRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.registry.listModels({
        cursor,
        limit: 100,
        ...(flags.status ? { status: flags.status as ModelVersionRecord['status'] } : {}),
      });
      all.push(...page.items);
      cursor = page.nextCursor || undefined;
    } while (cursor);
    print(ctx, flags, all, () => (all.length ? all.map(line).join('\n') : 'no models registered'));
  });
}

/** `models show <modelId>` */
export async function modelsShow(modelId: string, flags: RegistryFlags, ctx: CommandContext): Promise<void> {
  await withStore(flags.database, async (store) => {
    const m = await store.registry.getModel(modelId);
    if (!m) throw new Error(`model ${modelId} not found`);
    print(ctx, flags, m, () => JSON.stringify(m, null, 2));
  });
}

/** `models promote <modelId>` */
export async function modelsPromote(
  modelId: string,
  flags: RegistryFlags,
  ctx: CommandContext,
): Promise<void> {
  await withStore(flags.database, async (store) => {
    const m = await store.registry.promote(modelId);
    print(ctx, flags, m, () => `promoted ${line(m)}`);
  });
}

/** `models rollback`: re-promotes the previously promoted version. */
export async function modelsRollback(flags: RegistryFlags, ctx: CommandContext): Promise<void> {
  await withStore(flags.database, async (store) => {
    const m = await store.registry.rollback();
    print(ctx, flags, m, () => `rolled back; now promoted: ${line(m)}`);
  });
}
