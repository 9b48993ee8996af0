import {
  adapt,
  rankingModel,
  rankingSupport,
  scoreBatch,
  warmUpItems,
  type AdaptOptions,
  type RecommenderModel,
  type WarmUpOptions,
} from '@warmstart/core';
import {
  type ItemCatalog,
  itemWarmupRequests,
  type RatingEvent,
  type Task,
  throwIfAborted,
  type UserRecord,
} from '@warmstart/evaluation';

/** Users adapted per batched `adapt` call while ranking. */
const RANK_BATCH = 64;

/**
 * P2 full-catalog ranking with core's public API: the candidates are encoded once per call, then
 * each batch of tasks is adapted on its support sets (core `adapt`) and scored on every candidate
 * in one `scoreBatch`. One score array per task, in candidate order. A rating model with a ranker
 * (core `attachRanker`) ranks with the ranker, on the support as interactions, adapted with
 * `rankerOptions` (default: the ranker's own defaults; `adaptOptions` are the rating model's).
 */
export async function rankTasks(
  rated: RecommenderModel,
  tasks: readonly Task[],
  candidates: readonly string[],
  items: ItemCatalog,
  ratedOptions: AdaptOptions,
  signal?: AbortSignal,
  rankerOptions: AdaptOptions = {},
): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  if (tasks.length === 0) return out;
  const model = rankingModel(rated);
  const adaptOptions = model === rated ? ratedOptions : rankerOptions;
  const records = candidates.map((id) => items.get(id) ?? { id, features: {} });
  const encoded = model.encodeItems(
    records,
    adaptOptions.warmItems ? { warmItems: adaptOptions.warmItems } : {},
  );
  try {
    for (let start = 0; start < tasks.length; start += RANK_BATCH) {
      throwIfAborted(signal);
      const batch = tasks.slice(start, start + RANK_BATCH);
      const adapted = adapt(
        model,
        batch.map((t) => ({ user: t.user, support: rankingSupport(rated, t.support) })),
        items,
        adaptOptions,
      );
      try {
        const n = candidates.length;
        const scores = scoreBatch(
          adapted,
          batch.map((_, b) => b),
          encoded,
        );
        for (let b = 0; b < batch.length; b++) out.push(scores.slice(b * n, (b + 1) * n));
      } finally {
        adapted.dispose();
      }
      await new Promise((r) => setImmediate(r)); // let Ctrl-C through between batches
    }
  } finally {
    encoded.dispose();
  }
  return out;
}

/**
 * ID rows warmed up (core `warmUpItems`) for the items `model` has no ID row for, on `evidence`
 * (P2's new-item k-shot: each new item's first k interactions), or undefined when there is nothing
 * to warm or the model has no ID embeddings.
 */
export function warmRowsFromEvidence(
  model: RecommenderModel,
  evidence: readonly RatingEvent[] | undefined,
  items: ItemCatalog,
  users: ReadonlyMap<string, UserRecord>,
  options: WarmUpOptions = {},
): Map<string, Float32Array> | undefined {
  if (!evidence?.length || !model.config.idEmbeddings || model.layout.idDim === 0) return undefined;
  // One pseudo-task per user holding the user's evidence as support: itemWarmupRequests pools them.
  const byUser = new Map<string, Task>();
  for (const r of evidence) {
    let task = byUser.get(r.userId);
    if (!task) {
      task = { user: users.get(r.userId) ?? { id: r.userId, features: {} }, support: [], query: [] };
      byUser.set(r.userId, task);
    }
    task.support.push({ itemId: r.itemId, value: r.value, time: r.time });
  }
  const requests = itemWarmupRequests([...byUser.values()], items, (id) => !model.itemIdIndex.has(id));
  return requests.length ? warmUpItems(model, requests, options) : undefined;
}
