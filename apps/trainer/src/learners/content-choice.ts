import {
  fitContentIdf,
  initGeneratorFromIds,
  rankingModel,
  setContentNeighbourhood,
  type AdaptOptions,
  type RecommenderModel,
} from '@warmstart/core';
import {
  type FitContext,
  type ItemRecord,
  type Task,
  throwIfAborted,
  validationRankingScore,
} from '@warmstart/evaluation';
import type { NeighbourhoodSetting } from './neighbourhood-choice';
import { MIN_CHOICE_TASKS } from './new-items-choice';
import { pseudoNewItems, splitAtPseudoNew } from './pseudo-new';
import { rankTasks } from './rank-tasks';
import { stageProgress } from './stage-progress';
import { VALIDATION_SHOTS } from './validation-score';

/**
 * Weights of the content term tried (network logits per unit of summed cosine), 0 first: the
 * network alone competes and wins ties. Finer at the low end than the item neighbourhood's: on the
 * data at hand the content term's best weights were 0.1 or below.
 */
export const CONTENT_WEIGHTS: readonly number[] = [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2];

/** What {@link chooseContentNeighbourhood} did: the weight kept (0: none attached) and every weight's score. */
export interface ContentChoice {
  weight: number;
  /**
   * Validation NDCG@20 by weight: pseudo-new items ranked alone and among every warm item, each at
   * full support and at the first 1 and 3 interactions, averaged.
   */
  scores: Record<string, number>;
  /** Pseudo-new items and the validation tasks scored (at full support). */
  items: number;
  tasks: number;
}

/**
 * Attaches a content neighbourhood (core setContentNeighbourhood: the content cosine of an item
 * added after training to the user's support items, weighted) to `model`'s ranking model, with
 * the weight that ranks pseudo-new items best for the warm validation users. A quarter of the warm
 * items those users touched (at most 2,000; the latest by first interaction where the data has
 * times, else a seeded sample, as new-items-choice.ts picks them) have their IDs hidden, so the
 * model sees them as it sees a brand-new item. Each user, adapted on its interactions with the
 * other items (all of them, and its first 1 and 3), ranks the pseudo-new items, its own among them
 * the targets, as P2's new-item scenarios do; and, adapted on its own support without them (all,
 * first 1 and 3), ranks every warm item and the pseudo-new ones together, its query and its
 * pseudo-new support items the targets, as a catalog with a few new items is ranked: a weight
 * that floods the top with new items loses there. The score is the mean of the six. The ID generator (new items' ID rows from their
 * content) is refitted for the search without the pseudo-new items, as it was fitted without the
 * truly new ones: fitted on them too, it would know their ID rows (with many content columns, such
 * as a title's words, almost exactly), and the network would look better on them than on new items.
 * It is put back afterwards. 0 (none) wins ties. Null when the setting is `off`, the items have no content, the model
 * cannot carry one, or fewer than 20 tasks can be scored.
 */
export async function chooseContentNeighbourhood(
  model: RecommenderModel,
  setting: NeighbourhoodSetting,
  ctx: Pick<
    FitContext,
    'train' | 'validation' | 'items' | 'seed' | 'kind' | 'scale' | 'signal' | 'onProgress'
  >,
  adaptOptions: AdaptOptions,
): Promise<ContentChoice | null> {
  const ranking = rankingModel(model);
  if (setting === 'off' || ctx.validation.length === 0 || !ranking.rankingScores) return null;
  const warm = new Set<string>();
  for (const t of ctx.train) for (const r of [...t.support, ...t.query]) warm.add(r.itemId);
  const catalog = [...warm].flatMap((id) => {
    const record = ctx.items.get(id);
    return record ? [record] : [];
  });
  const idf = fitContentIdf(ranking, catalog);
  if (!idf.some((v) => v > 0)) return null;

  const pseudo = pseudoNewItems((id) => ranking.itemIdIndex.has(id), ctx);
  const { items, candidates: hidden } = pseudo;
  const mixed = [...[...warm].filter((id) => !pseudo.ids.has(id)).sort(), ...hidden];
  // Among the pseudo-new items alone: each validation user's interactions with the other items
  // are its support, those with the pseudo-new items (hidden) its query. Among all items: its own
  // support without the pseudo-new items, its query and its pseudo-new support items (hidden).
  const alone = splitAtPseudoNew(ctx.validation, pseudo);
  const among: Task[] = [];
  for (const t of ctx.validation) {
    const own = t.support.filter((r) => !pseudo.ids.has(r.itemId));
    const rest = [...t.support.filter((r) => pseudo.ids.has(r.itemId)), ...t.query].map(pseudo.hide);
    if (own.length > 0 && rest.length > 0) among.push({ user: t.user, support: own, query: rest });
  }
  if (alone.length < MIN_CHOICE_TASKS) return null;
  const views = (tasks: Task[]) => [
    tasks,
    ...VALIDATION_SHOTS.map((k) => tasks.map((t) => ({ ...t, support: t.support.slice(0, k) }))),
  ];
  const rankings = [
    ...views(alone).map((validation) => ({ validation, candidates: hidden })),
    ...views(among).map((validation) => ({ validation, candidates: mixed })),
  ];
  const ranker = {
    rank: (tasks: readonly Task[], cs: readonly string[]) =>
      rankTasks(model, tasks, cs, items, adaptOptions, ctx.signal),
  };
  const scores: Record<string, number> = {};
  let best = { weight: 0, score: -Infinity };
  const tick = stageProgress(ctx, 'content neighbourhood', CONTENT_WEIGHTS.length);
  const generator = withoutPseudoNew(ranking, ctx.items, pseudo.ids);
  try {
    for (const weight of CONTENT_WEIGHTS) {
      throwIfAborted(ctx.signal);
      setContentNeighbourhood(ranking, weight > 0 ? { idf, weight } : null);
      let sum = 0;
      for (const { validation, candidates } of rankings) {
        const score = await validationRankingScore(
          ranker,
          { train: [], validation, items, kind: ctx.kind, scale: ctx.scale, signal: ctx.signal },
          candidates,
        );
        sum += Number.isNaN(score) ? 0 : score;
      }
      scores[String(weight)] = sum / rankings.length;
      if (scores[String(weight)]! > best.score) best = { weight, score: scores[String(weight)]! };
      tick();
    }
  } finally {
    generator.restore();
    setContentNeighbourhood(ranking, best.weight > 0 ? { idf, weight: best.weight } : null);
  }
  return { weight: best.weight, scores, items: pseudo.ids.size, tasks: alone.length };
}

/**
 * Refits `model`'s ID generator on the catalog without `pseudo` (core initGeneratorFromIds);
 * `restore` puts every trained value back. Nothing to do for a model without a generator.
 */
function withoutPseudoNew(
  model: RecommenderModel,
  items: ReadonlyMap<string, ItemRecord>,
  pseudo: ReadonlySet<string>,
): { restore(): void } {
  if (!model.params['gen.w']) return { restore: () => undefined };
  const saved = model.snapshot();
  initGeneratorFromIds(model, new Map([...items].filter(([id]) => !pseudo.has(id))));
  return { restore: () => model.restore(saved) };
}
