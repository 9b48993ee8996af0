import type { ValidationMetrics } from './validate-model';
import {
  type EvalMethod,
  ItemBias,
  type ItemCatalog,
  ItemKnn,
  Popularity,
  scenarioMetrics,
  type Task,
  UserItemBias,
  type UserRecord,
  validationRankingScore,
} from '@warmstart/evaluation';

/** A baseline's figures on the candidate's validation users, and whether it beats the candidate. */
export interface BaselineFigures {
  name: string;
  /** The metric the comparison is made on: the promotion metric (explicit), `ndcg20` (implicit). */
  metric: string;
  /** The baseline's figures on the validation users (`metrics[metric]` is compared). */
  metrics: Record<string, number>;
  /** True when the baseline is better than the candidate on `metric`. */
  beatsCandidate: boolean;
}

/** What every baseline is fitted on and scored against: the candidate's own split. */
export interface BaselineData {
  train: readonly Task[];
  validation: readonly Task[];
  items: ItemCatalog;
  users: readonly UserRecord[];
  signal?: AbortSignal;
}

/**
 * "Never worse than a bias model without saying so", explicit ratings: `train` fits the item-bias
 * and user-item-bias baselines on the same meta-training users (their shrinkages chosen on the
 * same validation users, so the comparison favours them if anything) and scores them on the
 * validation users the candidate was scored on, by the promotion metric.
 */
export async function checkAgainstBaselines(
  candidate: ValidationMetrics,
  data: BaselineData,
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
    out.push({ name: method.name, metric, metrics, beatsCandidate });
  }
  return out;
}

/**
 * The same for implicit feedback, where there is no rating to compare: popularity (the bias model
 * of implicit data) and item-kNN, fitted on the meta-training users (item-kNN's neighbourhood size
 * chosen on the same validation users), ranked over the warm catalog for the validation users and
 * compared with the candidate's NDCG@20 there (`candidateNdcg20`, the number its early stopping
 * and adaptation choices maximised).
 */
export async function checkAgainstRankingBaselines(
  candidateNdcg20: number,
  data: BaselineData,
  seed: number,
): Promise<BaselineFigures[]> {
  if (data.validation.length === 0) return [];
  const ctx = { ...data, seed, kind: 'implicit' as const, scale: [0, 1] as [number, number] };
  const out: BaselineFigures[] = [];
  for (const method of [new Popularity(), new ItemKnn()] as EvalMethod[]) {
    await method.fit(ctx);
    const ndcg20 = await validationRankingScore(method, ctx);
    out.push({
      name: method.name,
      metric: 'ndcg20',
      metrics: { ndcg20 },
      beatsCandidate: ndcg20 > candidateNdcg20,
    });
  }
  return out;
}
