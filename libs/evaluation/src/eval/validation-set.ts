import type { ItemCatalog, Task } from '../data/types';

/**
 * The warm validation users' tasks; with `coldItems`, also a copy of them in which every item's ID
 * is hidden (renamed, so the model scores it from content and the generated ID embedding, as it
 * would a brand-new item). The copy measures new-item behaviour without touching a cold scenario.
 */
export interface ValidationSet {
  tasks: readonly Task[];
  items: ItemCatalog;
  coldItems?: { tasks: readonly Task[]; items: ItemCatalog };
}

const HIDDEN_ID_PREFIX = 'validation-cold:';

export function validationSet(tasks: readonly Task[], items: ItemCatalog, coldItems: boolean): ValidationSet {
  if (!coldItems) return { tasks, items };
  const hide = (r: Task['query'][number]) => ({ ...r, itemId: HIDDEN_ID_PREFIX + r.itemId });
  const coldTasks = tasks.map((t) => ({ ...t, support: t.support.map(hide), query: t.query.map(hide) }));
  const coldCatalog = new Map(items);
  for (const t of tasks) {
    for (const r of [...t.support, ...t.query]) {
      const item = items.get(r.itemId);
      if (item) coldCatalog.set(HIDDEN_ID_PREFIX + r.itemId, { ...item, id: HIDDEN_ID_PREFIX + r.itemId });
    }
  }
  return { tasks, items, coldItems: { tasks: coldTasks, items: coldCatalog } };
}
