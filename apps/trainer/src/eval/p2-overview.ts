/**
 * What `evaluate --protocol p2` prints before it runs: the data, how it was split, the scenario
 * sizes, and a warning naming the config key to change for every scenario too small to separate
 * models.
 */
import type { FeatureResolution } from '../data/infer-features';
import {
  type Dataset,
  describeP2Split,
  MIN_SCENARIO_TASKS,
  type P2Split,
  type Scenario,
  SCENARIOS,
} from '@warmstart/evaluation';

/** The config keys that grow each scored set. */
const GROWS: Record<Scenario | 'validation', string> = {
  warm: 'evaluate.p2.testFraction',
  new_user: 'evaluate.p2.newUserFraction',
  new_item: 'evaluate.p2.newItemFraction',
  new_user_new_item: 'evaluate.p2.newUserFraction and evaluate.p2.newItemFraction',
  validation: 'evaluate.p2.validationFraction',
};

export function p2Overview(
  dataset: Dataset,
  split: P2Split,
  relevanceShare: number,
  features: FeatureResolution,
): { lines: string[]; warnings: string[] } {
  const d = describeP2Split(dataset, split, relevanceShare);
  const o = split.options;
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  const kind =
    d.p2.kind === 'implicit'
      ? 'implicit feedback'
      : `explicit ratings on [${d.p2.scale.join(', ')}] (relevant: >= ${d.p2.relevanceThreshold!.toFixed(2)})`;
  const lines = [
    `protocol P2 on ${dataset.name}: ${kind}; ${dataset.users.length} users, ${dataset.items.length} items, ${dataset.ratings.length} interactions`,
    split.hasTimes
      ? `new users: the last ${pct(o.newUserFraction)} by first interaction; new items: the last ${pct(o.newItemFraction)} by ${basisText(d.p2.basis.newItems)}; support: the first ${pct(o.supportFraction)} of each user's interactions in time order`
      : `no event times: new users (${pct(o.newUserFraction)})${d.p2.basis.newItems === 'random' ? `, new items (${pct(o.newItemFraction)})` : ''} and each user's order are seeded random (seed ${split.seed})${d.p2.basis.newItems === 'random' ? '' : `; new items: the last ${pct(o.newItemFraction)} by ${basisText(d.p2.basis.newItems)}`}; support: the first ${pct(o.supportFraction)} of each user's interactions`,
    `scored tasks (seed ${split.seed}): ${SCENARIOS.map((s) => `${s === 'warm' ? 'warm-test' : s} ${d.tasks[s]}`).join(', ')}; warm users: ${d.splits.warm_train} meta-training, ${d.splits.warm_validation} validation`,
    `candidates: ${d.p2.candidates.warm_items} warm items (warm, new_user), ${d.p2.candidates.new_items} new items (new_item, new_user_new_item)`,
    featuresText(features),
  ];
  const warnings = d.p2.tooSmall.map((s) => {
    const n = s === 'validation' ? d.splits.warm_validation : d.tasks[s as Scenario];
    const more = o.minSupport > 1 ? ` or lower evaluate.p2.minSupport (${o.minSupport})` : '';
    return `${s} has ${n} scored tasks, fewer than ${MIN_SCENARIO_TASKS}: too few to separate models; raise ${GROWS[s as Scenario | 'validation']}${more} (a --config file)`;
  });
  return { lines, warnings };
}

function basisText(basis: string): string {
  switch (basis) {
    case 'availability':
      return 'availability time';
    case 'availability-or-first-interaction':
      return 'availability time (else first interaction)';
    case 'first-interaction':
      return 'first interaction';
    default:
      return 'seeded random choice';
  }
}

function featuresText(f: FeatureResolution): string {
  const side = (s: 'user' | 'item') => {
    const names = f.features[s].map((d) => `${d.name}:${d.kind}`);
    return `${s} ${names.length ? names.join(', ') : 'none (IDs and biases only)'}${f.inferred[s] ? ' (inferred)' : ''}`;
  };
  const skipped = f.skipped.length
    ? `; left out: ${f.skipped.map((s) => `${s.side}.${s.name} (${s.reason})`).join(', ')}`
    : '';
  return `features: ${side('user')}; ${side('item')}${skipped}`;
}
