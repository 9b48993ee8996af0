import type { Tx } from '../db/client';
import type { FeatureStore } from '../store/feature-store';
import type { InteractionInput, ItemRecordInput } from '../store/inputs';
import { validateInteractions, validateItems, validateUsers } from '../store/validate-inputs';
import { writeInteractions, writeItems, writeUsers } from '../store/writes';
import type { UserRecord } from '../types';
import type { ImportOptions, ImportReport, RejectedRow } from './report';

/** Data to write in one import: interactions may be a lazy stream (the synthetic generator). */
export interface ImportData {
  users: readonly UserRecord[];
  items: readonly ItemRecordInput[];
  interactions: Iterable<InteractionInput> | AsyncIterable<InteractionInput>;
  interactionCount?: number;
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Error('import aborted; nothing was written', { cause: signal.reason });
}

/**
 * Writes an import in ONE transaction, batch by batch (validated like the write API), so a
 * failure or an abort leaves nothing behind. Progress is reported after every batch.
 */
export async function loadAll(
  store: FeatureStore,
  data: ImportData,
  options: ImportOptions,
  rejected: RejectedRow[],
  started: number,
): Promise<ImportReport> {
  const size = options.batchSize ?? 5000;
  const report = (phase: 'items' | 'users' | 'interactions', done: number, total?: number) =>
    options.onProgress?.({ phase, done, ...(total !== undefined ? { total } : {}) });
  const result = await store.transaction(async (tx: Tx) => {
    const now = new Date();
    let items = 0;
    let users = 0;
    for (let i = 0; i < data.items.length; i += size) {
      aborted(options.signal);
      const batch = data.items.slice(i, i + size);
      validateItems(batch);
      items += (await writeItems(tx, store.dialect, batch, now)).length;
      report('items', Math.min(i + size, data.items.length), data.items.length);
    }
    for (let i = 0; i < data.users.length; i += size) {
      aborted(options.signal);
      const batch = data.users.slice(i, i + size);
      validateUsers(batch);
      users += (await writeUsers(tx, store.dialect, batch, now)).length;
      report('users', Math.min(i + size, data.users.length), data.users.length);
    }
    let ingested = 0;
    let duplicates = 0;
    let seen = 0;
    let batch: InteractionInput[] = [];
    const flush = async () => {
      aborted(options.signal);
      validateInteractions(batch, store.ratingRange);
      const r = await writeInteractions(tx, store.dialect, batch, now, true);
      ingested += r.ingested;
      duplicates += r.duplicates;
      seen += batch.length;
      batch = [];
      report('interactions', seen, data.interactionCount);
    };
    for await (const row of data.interactions) {
      batch.push(row);
      if (batch.length >= size) await flush();
    }
    if (batch.length > 0) await flush();
    return { users, items, interactions: { ingested, duplicates } };
  });
  store.clear();
  return { ...result, rejected, durationMs: Date.now() - started };
}
