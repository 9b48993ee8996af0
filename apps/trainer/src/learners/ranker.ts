import { attachRanker, type AdaptOptions, type RecommenderModel } from '@warmstart/core';
import type { ModelSection, TrainerConfig } from '../config/schema';
import { prepareStart, tuneAlsStart } from './als-embeddings';
import { buildModel, DEFAULT_NEGATIVES, initBiases } from './build-model';
import { rankTasks } from './rank-tasks';
import { smallAndFullSupportNdcg20 } from './validation-score';
import { type FitContext, type Task, type UserRecord, validationRankingScore } from '@warmstart/evaluation';
import { prefixedStages } from './stage-progress';

/** `train.ranker`: build, keep when it ranks validation users better (`auto`), always, or never. */
export type RankerSetting = 'auto' | 'on' | 'off';

/** What {@link chooseRanker} did: both models' validation NDCG@20 and whether the ranker was kept. */
export interface RankerChoice {
  attached: boolean;
  /** Validation NDCG@20 of the rating model's own ranking and of the ranker's (NaN: not measured). */
  ndcg20: { rating: number; ranker: number };
  /** The ranker's ALS confidence, evidence growth (its `adaptDefaults`) and lift scale, when its start was tuned. */
  alsAlpha?: number;
  evidenceGrowth?: number;
  liftScale?: number;
}

/**
 * The ranking model of explicit data: which items a user will rate at all is mostly popularity
 * and co-occurrence, which a rating regression does not learn (on MovieLens-100K the rating
 * model ranks the whole catalog below plain popularity). Every rating counts as an interaction,
 * and the model is the implicit default's starting point on them: the catalog fold-in over
 * implicit-ALS item factors with interaction-rate biases and, for new items, ID rows from content
 * (als-embeddings.ts), its ALS confidence chosen on validation users by {@link chooseRanker}. It
 * is not meta-trained: on implicit data early stopping keeps exactly this starting point
 * (apps/trainer/README.md, "Measured").
 */
export async function buildRanker(
  features: TrainerConfig['features'],
  section: ModelSection,
  ctx: Pick<FitContext, 'train' | 'items' | 'users' | 'seed'>,
): Promise<RecommenderModel> {
  const train = asInteractions(ctx.train);
  const model = buildModel(
    features,
    { ...section, idEmbeddings: true, localGroups: ['output'] },
    ctx.users as Iterable<UserRecord>,
    ctx.items.values(),
    train,
    ctx.seed,
    { kind: 'implicit', scale: [0, 1], negatives: DEFAULT_NEGATIVES },
    { bayesHead: true },
  );
  await initBiases(model, { ...section, initItemBiases: true }, train, ctx.items);
  prepareStart(model, rankerSection(section), { ...ctx, train, kind: 'implicit' });
  return model;
}

/** The model section a ranker is built with: the ALS start, whatever the rating model's. */
function rankerSection(section: ModelSection): ModelSection {
  return { ...section, initItemEmbeddings: 'als' };
}

/**
 * Builds a ranker for the rating model `model` and attaches it per `setting` (`auto`: when its
 * validation NDCG@20, P2's ranking of the warm items with P2's relevance, is higher than the
 * rating model's own, adapted with `ratedOptions`). Only warm validation users are looked at. A
 * ranker not kept is disposed.
 */
export async function chooseRanker(
  model: RecommenderModel,
  setting: RankerSetting,
  features: TrainerConfig['features'],
  section: ModelSection,
  ctx: Pick<
    FitContext,
    'train' | 'validation' | 'items' | 'users' | 'seed' | 'kind' | 'scale' | 'signal' | 'onProgress'
  >,
  ratedOptions: AdaptOptions = model.adaptDefaults,
): Promise<RankerChoice> {
  const none = { attached: false, ndcg20: { rating: NaN, ranker: NaN } };
  if (setting === 'off' || ctx.kind !== 'explicit' || model.config.task !== 'rating') return none;
  const ranker = await buildRanker(features, section, ctx);
  const rankerOf = (m: RecommenderModel) => ({
    rank: (tasks: readonly Task[], candidates: readonly string[]) =>
      rankTasks(m, tasks, candidates, ctx.items, ratedOptions, ctx.signal),
  });
  const ndcg20 = (m: RecommenderModel) => validationRankingScore(rankerOf(m), ctx);
  try {
    const rating = ctx.validation.length > 0 ? await ndcg20(model) : NaN;
    attachRanker(model, ranker);
    // The ranker's ALS confidence and evidence growth, chosen as the implicit default's are
    // (als-embeddings.ts), by the same objective: full support and the first 1 and 3 interactions.
    const start =
      ctx.validation.length > 0
        ? await tuneAlsStart(
            ranker,
            rankerSection(section),
            {
              train: asInteractions(ctx.train),
              items: ctx.items,
              seed: ctx.seed,
              kind: 'implicit',
              ...prefixedStages(ctx, "ranker's "),
            },
            async () => -(await smallAndFullSupportNdcg20(rankerOf(model), ctx)),
          )
        : null;
    // Compared with the rating model's ranking at full support, the figure both have.
    const withRanker = start ? await ndcg20(model) : NaN;
    // Without validation users there is nothing to compare: keep it (it is `auto`'s better bet).
    const keep = setting === 'on' || Number.isNaN(rating) || withRanker > rating;
    if (!keep) {
      model.ranker = null;
      ranker.dispose();
    }
    return {
      attached: keep,
      ndcg20: { rating, ranker: withRanker },
      ...(start && {
        alsAlpha: start.alpha,
        evidenceGrowth: start.evidenceGrowth,
        liftScale: start.liftScale,
      }),
    };
  } catch (err) {
    if (model.ranker === ranker) model.ranker = null;
    ranker.dispose();
    throw err;
  }
}

/** Tasks with every rating as an interaction (value 1), as the ranking model sees them. */
export function asInteractions(tasks: readonly Task[]): Task[] {
  const one = (r: Task['support'][number]) => ({ ...r, value: 1 });
  return tasks.map((t) => ({ ...t, support: t.support.map(one), query: t.query.map(one) }));
}
