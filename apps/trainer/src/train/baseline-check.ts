import { ItemBias } from '../baselines/item-bias';
import { UserItemBias } from '../baselines/user-item-bias';
import type { ItemCatalog, Task, UserRecord } from '../data/types';
import type { EvalMethod } from '../eval/method';
import { scenarioMetrics } from '../eval/task-metrics';
import type { ValidationMetrics } from './validate-model';

/** A bias baseline's figures on the candidate's validation users, and whether it beats the candidate. */
export interface BaselineFigures {
  name: string;
  metrics: ValidationMetrics;
  /** True when the baseline is better than the candidate on the promotion metric. */
  beatsCandidate: boolean;
}

/**
 * "Never worse than a bias model without saying so": `train` fits the item-bias and user-item-bias
 * baselines on the same meta-training users (their shrinkages chosen on the same validation users,
 * so the comparison favours them if anything) and scores them on the validation users the
 * candidate was scored on. Explicit ratings only: on implicit data the bias baselines are plain
 * popularity, which `evaluate --protocol p2` compares on ranking metrics.
 */
export async function checkAgainstBaselines(
  candidate: ValidationMetrics,
  data: {
    train: readonly Task[];
    validation: readonly Task[];
    items: ItemCatalog;
    users: readonly UserRecord[];
  },
  scale: [number, number],
  metric: 'mae' | 'rmse' | 'ndcg3',
  seed: number,
): Promise<BaselineFigures[]> {
  if (data.validation.length === 0) return [];
  const baselines: EvalMethod[] = [new ItemBias(scale), new UserItemBias(scale)];
  const out: BaselineFigures[] = [];
  for (const method of baselines) {
    await method.fit({ ...data, seed, kind: 'explicit', scale });
    const m = scenarioMetrics(data.validation, await method.predict(data.validation, data.items));
    const metrics = { mae: m.mae, rmse: m.rmse, ndcg3: m.ndcg3, p5: m.p5 };
    const beatsCandidate =
      metric === 'ndcg3' ? metrics.ndcg3 > candidate.ndcg3 : metrics[metric] < candidate[metric];
    out.push({ name: method.name, metrics, beatsCandidate });
  }
  return out;
}
