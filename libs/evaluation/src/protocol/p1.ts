import type { Dataset, RatingEvent, Task, UserRecord } from '../data/types';
import { rngFor, shuffled } from '../util/rng';
import { compareIds, newItemIds, newUserIds } from './cold-sets';
import { SCENARIOS, type Scenario } from './scenarios';
import { buildTask, P1_TASK_RULES, type TaskRules } from './tasks';

export interface P1Options extends TaskRules {
  seed: number;
  /** Items released in this year or later (or undated) are new. */
  newItemYear: number;
  /** Share of users, latest first rating last, that are new. */
  newUserFraction: number;
  /** Warm users held out for validation (tuning, promotion) and for the reported warm scenario. */
  validationFraction: number;
  testFraction: number;
}

export const P1_DEFAULTS: Omit<P1Options, 'seed'> = {
  ...P1_TASK_RULES,
  newItemYear: 1997,
  newUserFraction: 0.2,
  validationFraction: 0.1,
  testFraction: 0.1,
};

export interface P1Split {
  seed: number;
  newUsers: Set<string>;
  newItems: Set<string>;
  /** Every task per scenario, as docs/protocols.md defines them. */
  tasks: Record<Scenario, Task[]>;
  /**
   * The warm tasks partitioned by user: `train` is the meta-training (and baseline fitting) data,
   * `validation` is for tuning and promotion, `test` is what the report's warm row measures.
   */
  warm: { train: Task[]; validation: Task[]; test: Task[] };
}

/** Splits a dataset under protocol P1 for one seed. Pure: same data and seed give the same split. */
export function splitP1(dataset: Dataset, options: Partial<P1Options> & { seed: number }): P1Split {
  const o: P1Options = { ...P1_DEFAULTS, ...options };
  const newItems = newItemIds(dataset.items, o.newItemYear);
  const newUsers = newUserIds(dataset.ratings, o.newUserFraction);
  const users = new Map<string, UserRecord>(dataset.users.map((u) => [u.id, u]));

  // user -> scenario -> ratings
  const grouped = new Map<string, Map<Scenario, RatingEvent[]>>();
  for (const r of dataset.ratings) {
    const scenario = scenarioOf(newUsers.has(r.userId), newItems.has(r.itemId));
    let perUser = grouped.get(r.userId);
    if (!perUser) grouped.set(r.userId, (perUser = new Map()));
    const list = perUser.get(scenario);
    if (list) list.push(r);
    else perUser.set(scenario, [r]);
  }

  const tasks = Object.fromEntries(SCENARIOS.map((s) => [s, [] as Task[]])) as Record<Scenario, Task[]>;
  const userIds = [...grouped.keys()].sort(compareIds);
  for (const userId of userIds) {
    const user = users.get(userId) ?? { id: userId, features: {} };
    for (const scenario of SCENARIOS) {
      const ratings = grouped.get(userId)?.get(scenario);
      if (!ratings) continue;
      const task = buildTask(user, ratings, scenario, o.seed, o);
      if (task) tasks[scenario].push(task);
    }
  }
  return { seed: o.seed, newUsers, newItems, tasks, warm: partitionWarm(tasks.warm, o) };
}

function scenarioOf(newUser: boolean, newItem: boolean): Scenario {
  if (newUser) return newItem ? 'new_user_new_item' : 'new_user';
  return newItem ? 'new_item' : 'warm';
}

function partitionWarm(warm: Task[], o: P1Options): P1Split['warm'] {
  const order = shuffled(warm, rngFor(o.seed, 'warm-partition'));
  const nValidation = Math.round(order.length * o.validationFraction);
  const nTest = Math.round(order.length * o.testFraction);
  return {
    validation: order.slice(0, nValidation),
    test: order.slice(nValidation, nValidation + nTest),
    train: order.slice(nValidation + nTest),
  };
}
