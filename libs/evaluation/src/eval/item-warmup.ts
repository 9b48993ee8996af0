/**
 * The "+item-warmup" variant of a meta-learned model in the P1 harness, an extension of P1 (P1
 * itself, and every number it reports, is unchanged).
 *
 * In a scenario with new items (new_item, new_user_new_item), before scoring, every item the model
 * has no ID row for ("new" to the model; in P1 these are the new items) has its ID representation
 * warmed up once, in one batched core `warmUpItems` call, on the SUPPORT ratings of all the
 * scenario's tasks that rated it: interaction = (the task's user record, the rating). Each task's
 * user is then adapted on its support set and its query items are scored, both with the warmed
 * rows. Query ratings are never used: the support sets are exactly what P1 lets a model observe
 * before it scores the queries, and here they are pooled across the scenario's users, as a server
 * warming new items on their first interactions would pool them.
 */
import { DEFAULT_WARMUP, type ItemWarmUpRequest, type WarmUpOptions } from '@warmstart/core';
import type { ItemCatalog, Task } from '../data/types';
import type { ScenarioMetrics } from './task-metrics';
import type { Scenario } from '../protocol/scenarios';

/** Suffix of the variant's name in the report: `anil-ridge+item-warmup`. */
export const ITEM_WARMUP_SUFFIX = '+item-warmup';

/** What one warm-up call covered. */
export interface ItemWarmupStats {
  /** Items warmed up (new items with at least one support rating). */
  items: number;
  /** Support ratings they were warmed up on. */
  interactions: number;
  seconds: number;
}

/** The variant's extra record in a harness run (report.json `item_warmup`). */
export interface ItemWarmupRun {
  /** The method whose fitted model was warmed up. */
  of: string;
  /** Steps, step size and prior (a model's own ID-bias pull, `itemWarmUp.biasPrior`, applies under them). */
  options: Required<Omit<WarmUpOptions, 'biasPrior'>>;
  /** Per new-item scenario. */
  scenarios: Partial<Record<Scenario, ItemWarmupStats>>;
  /**
   * The warm validation users with every item ID hidden (each item scored as new, from its content,
   * as in `train.coldItemValidation`), without and with warm-up on their support ratings: the only
   * place warm-up options may be compared (never a cold scenario).
   */
  validationColdItems: { without: ScenarioMetrics; with: ScenarioMetrics };
}

/** The options a warm-up runs with: the given ones over core's defaults. */
export function resolvedWarmupOptions(options: WarmUpOptions): Required<Omit<WarmUpOptions, 'biasPrior'>> {
  return {
    steps: options.steps ?? DEFAULT_WARMUP.steps,
    lr: options.lr ?? DEFAULT_WARMUP.lr,
    prior: options.prior ?? DEFAULT_WARMUP.prior,
  };
}

/**
 * The warm-up input of a scenario: for each item `isNew` accepts, the support ratings of every
 * task that rated it, with that task's user record. Query ratings are never read. Items are in
 * id order, their interactions in task order (warm-up rows do not depend on either).
 */
export function itemWarmupRequests(
  tasks: readonly Task[],
  items: ItemCatalog,
  isNew: (itemId: string) => boolean,
): ItemWarmUpRequest[] {
  const byItem = new Map<string, { user: Task['user']; value: number }[]>();
  for (const task of tasks) {
    for (const r of task.support) {
      if (!isNew(r.itemId)) continue;
      let list = byItem.get(r.itemId);
      if (!list) byItem.set(r.itemId, (list = []));
      list.push({ user: task.user, value: r.value });
    }
  }
  return [...byItem.keys()]
    .sort()
    .map((id) => ({ item: items.get(id) ?? { id, features: {} }, interactions: byItem.get(id)! }));
}
