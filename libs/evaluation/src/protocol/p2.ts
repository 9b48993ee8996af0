/**
 * Protocol P2 (docs/protocols.md, "P2"): any dataset, implicit or explicit.
 *
 * - New items: the last `newItemFraction` of the items with interactions by availability time
 *   (else first interaction time); new users: the last `newUserFraction` by first interaction
 *   time. Without times both are seeded random, and so is every user's order.
 * - A task is one user inside one scenario (P1's four). Its interactions, one per item, in the
 *   user's order: support = the first `supportFraction` of them (at least `minSupport`, leaving at
 *   least one), query = the rest, capped at the first `maxQuery`. A task needs `minSupport` + 1
 *   interactions.
 * - Warm users split `1 - validationFraction - testFraction` / `validationFraction` /
 *   `testFraction` into meta-training, validation (every choice is made there) and warm-test.
 *   Meta-training tasks keep their whole query (every training interaction is used); scored tasks
 *   are capped.
 * - Implicit data: every interaction is a positive, value 1.
 */
import type { Dataset, FeedbackKind, Rating, RatingEvent, Task, UserRecord } from '../data/types';
import { rngFor, shuffled } from '../util/rng';
import { compareIds } from './cold-sets';
import {
  datasetHasTimes,
  orderedByUser,
  p2NewItems,
  p2NewUsers,
  type NewItemBasis,
  type NewUserBasis,
} from './p2-order';
import { SCENARIOS, type Scenario } from './scenarios';

export interface P2TaskRules {
  /** Support interactions a task needs at least (it needs one more, for the query). */
  minSupport: number;
  /** Query interactions kept per scored task (the first ones after the support). */
  maxQuery: number;
  /** Share of a user's interactions (in the user's order) that form the support set. */
  supportFraction: number;
}

export interface P2Options extends P2TaskRules {
  seed: number;
  newItemFraction: number;
  newUserFraction: number;
  validationFraction: number;
  testFraction: number;
}

export const P2_DEFAULTS: Omit<P2Options, 'seed'> = {
  minSupport: 1,
  maxQuery: 100,
  supportFraction: 0.5,
  newItemFraction: 0.2,
  newUserFraction: 0.2,
  validationFraction: 0.1,
  testFraction: 0.1,
};

export interface P2Split {
  seed: number;
  kind: FeedbackKind;
  hasTimes: boolean;
  basis: { newItems: NewItemBasis; newUsers: NewUserBasis };
  newUsers: Set<string>;
  newItems: Set<string>;
  /**
   * The candidates of full-catalog ranking: warm items (warm and new-user scenarios), new items,
   * each in a seeded random order. Equal scores keep candidate order, so ties are broken at random,
   * never by id (ids often follow popularity or time: id order would rank a constant score well).
   */
  warmItemIds: string[];
  newItemIds: string[];
  /** Scored tasks per scenario (warm: the warm-test users; queries capped). */
  tasks: Record<Scenario, Task[]>;
  warm: { train: Task[]; validation: Task[]; test: Task[] };
  /** Each user's interactions per scenario in the user's order (deduplicated), for the k-shot views. */
  events: Record<Scenario, Map<string, RatingEvent[]>>;
  users: ReadonlyMap<string, UserRecord>;
  options: P2Options;
}

/** Splits a dataset under protocol P2 for one seed. Pure: same data and seed give the same split. */
export function splitP2(dataset: Dataset, options: Partial<P2Options> & { seed: number }): P2Split {
  const o: P2Options = { ...P2_DEFAULTS, ...options };
  checkOptions(o);
  const kind = dataset.kind ?? 'explicit';
  const hasTimes = datasetHasTimes(dataset);
  const byUser = orderedByUser(dataset.ratings, hasTimes, o.seed);
  const newUsers = p2NewUsers(byUser, hasTimes, o.newUserFraction, o.seed);
  const newItems = p2NewItems(byUser, dataset.items, hasTimes, o.newItemFraction, o.seed);
  const users = new Map<string, UserRecord>(dataset.users.map((u) => [u.id, u]));

  const events = Object.fromEntries(SCENARIOS.map((s) => [s, new Map<string, RatingEvent[]>()])) as Record<
    Scenario,
    Map<string, RatingEvent[]>
  >;
  const itemIds = new Set<string>();
  for (const [userId, list] of byUser) {
    for (const r of list) {
      itemIds.add(r.itemId);
      const scenario = scenarioOf(newUsers.ids.has(userId), newItems.ids.has(r.itemId));
      const at = events[scenario].get(userId);
      const event = kind === 'implicit' ? { ...r, value: 1 } : r;
      if (at) at.push(event);
      else events[scenario].set(userId, [event]);
    }
  }
  const userOf = (id: string) => users.get(id) ?? { id, features: {} };
  const tasks = {} as Record<Scenario, Task[]>;
  for (const scenario of SCENARIOS) {
    tasks[scenario] = [];
    for (const [userId, list] of events[scenario]) {
      const task = buildP2Task(userOf(userId), list, o, scenario !== 'warm');
      if (task) tasks[scenario].push(task);
    }
  }
  const warm = partitionWarm(tasks.warm, o);
  tasks.warm = warm.test;
  const sortedItems = [...itemIds].sort(compareIds);
  return {
    seed: o.seed,
    kind,
    hasTimes,
    basis: { newItems: newItems.basis, newUsers: newUsers.basis },
    newUsers: newUsers.ids,
    newItems: newItems.ids,
    warmItemIds: shuffled(
      sortedItems.filter((id) => !newItems.ids.has(id)),
      rngFor(o.seed, 'p2-candidates:warm'),
    ),
    newItemIds: shuffled(
      sortedItems.filter((id) => newItems.ids.has(id)),
      rngFor(o.seed, 'p2-candidates:new'),
    ),
    tasks,
    warm,
    events,
    users,
    options: o,
  };
}

/**
 * One task from one user's interactions in one scenario (in the user's order), or null with fewer
 * than `minSupport` + 1. `capQuery` false keeps the whole query (meta-training tasks).
 */
export function buildP2Task(
  user: UserRecord,
  ordered: readonly RatingEvent[],
  rules: P2TaskRules,
  capQuery = true,
): Task | null {
  const n = ordered.length;
  if (n < rules.minSupport + 1) return null;
  const s = Math.min(n - 1, Math.max(rules.minSupport, Math.floor(n * rules.supportFraction)));
  return {
    user,
    support: ordered.slice(0, s).map(toRating),
    query: ordered.slice(s, capQuery ? s + rules.maxQuery : n).map(toRating),
  };
}

export function toRating(r: RatingEvent): Rating {
  return { itemId: r.itemId, value: r.value, time: r.time };
}

/** A scored copy of a task: its query capped at `maxQuery`. */
export function capQuery(task: Task, maxQuery: number): Task {
  return task.query.length <= maxQuery ? task : { ...task, query: task.query.slice(0, maxQuery) };
}

function scenarioOf(newUser: boolean, newItem: boolean): Scenario {
  if (newUser) return newItem ? 'new_user_new_item' : 'new_user';
  return newItem ? 'new_item' : 'warm';
}

function partitionWarm(warm: Task[], o: P2Options): P2Split['warm'] {
  const order = shuffled(warm, rngFor(o.seed, 'p2-warm-partition'));
  const nValidation = Math.round(order.length * o.validationFraction);
  const nTest = Math.round(order.length * o.testFraction);
  return {
    validation: order.slice(0, nValidation).map((t) => capQuery(t, o.maxQuery)),
    test: order.slice(nValidation, nValidation + nTest).map((t) => capQuery(t, o.maxQuery)),
    train: order.slice(nValidation + nTest),
  };
}

function checkOptions(o: P2Options): void {
  const bad = (key: string, why: string) => {
    throw new RangeError(`evaluate.p2.${key}: ${why}`);
  };
  if (!(Number.isInteger(o.minSupport) && o.minSupport >= 1)) bad('minSupport', 'must be an integer >= 1');
  if (!(Number.isInteger(o.maxQuery) && o.maxQuery >= 1)) bad('maxQuery', 'must be an integer >= 1');
  if (!(o.supportFraction > 0 && o.supportFraction < 1)) bad('supportFraction', 'must be in (0, 1)');
  for (const key of ['newItemFraction', 'newUserFraction', 'validationFraction', 'testFraction'] as const) {
    if (!(o[key] > 0 && o[key] < 1)) bad(key, 'must be in (0, 1)');
  }
  if (o.validationFraction + o.testFraction >= 1)
    bad('testFraction', 'validationFraction + testFraction must leave warm users to train on');
}
