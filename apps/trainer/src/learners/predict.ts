import { adapt, score, type AdaptOptions, type RecommenderModel } from '@warmstart/core';
import { type ItemCatalog, type Task, throwIfAborted } from '@warmstart/evaluation';

/**
 * Adapts each task's user on its support set and predicts its query ratings, B users per batched
 * adaptation. Tasks without support are scored with the global (unadapted) parameters. With
 * `adaptOptions.warmItems` (core warmUpItems rows), support and query items that have a warmed row
 * use it.
 */
export async function predictTasks(
  model: RecommenderModel,
  tasks: readonly Task[],
  items: ItemCatalog,
  adaptOptions: AdaptOptions,
  batchSize = 64,
  signal?: AbortSignal,
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let start = 0; start < tasks.length; start += batchSize) {
    throwIfAborted(signal);
    const batch = tasks.slice(start, start + batchSize);
    const adapted = adapt(
      model,
      batch.map((t) => ({ user: t.user, support: t.support })),
      items,
      adaptOptions,
    );
    try {
      for (let b = 0; b < batch.length; b++) {
        const queryItems = batch[b].query.map((r) => {
          const item = items.get(r.itemId);
          return item ?? { id: r.itemId, features: {} };
        });
        const encoded = model.encodeItems(
          queryItems,
          adaptOptions.warmItems ? { warmItems: adaptOptions.warmItems } : {},
        );
        try {
          out.push(score(adapted, b, encoded));
        } finally {
          encoded.dispose();
        }
      }
    } finally {
      adapted.dispose();
    }
    await new Promise((r) => setImmediate(r)); // let Ctrl-C through between batches
  }
  return out;
}
