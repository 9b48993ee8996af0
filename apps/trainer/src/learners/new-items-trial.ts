import { rankingModel, supportsItemFoldIn, type AdaptOptions, type RecommenderModel } from '@warmstart/core';
import type { FitContext, ItemCatalog, RatingEvent, Task, UserRecord } from '@warmstart/evaluation';
import { foldInRowsFromEvidence, trainingHeads, type TrainingHeads } from './item-fold-in';
import {
  chooseNewItems,
  type NewItemsChoice,
  type NewItemsTrial,
  type NewItemsWay,
} from './new-items-choice';
import { rankTasks, warmRowsFromEvidence } from './rank-tasks';

/** What a trained rating model (and its ranker, if any) needs around it to choose how new items come in. */
export interface NewItemsContext extends Pick<
  FitContext,
  'train' | 'validation' | 'items' | 'seed' | 'kind' | 'scale' | 'signal'
> {
  /** Every user record by id (the warm-up reads evidence users' features). */
  users: ReadonlyMap<string, UserRecord>;
  /** The rating model's adaptation (its ranker adapts with its own defaults). */
  adaptOptions: AdaptOptions;
  /** The training users' heads of a model (computed once by the caller). */
  trainingHeads(model: RecommenderModel): TrainingHeads;
}

/**
 * The model that takes new items' evidence for ranking (the ranker where the rating model has
 * one), when it can fold items in (core supportsItemFoldIn); else null: new items warm up.
 */
export function foldInCandidate(rated: RecommenderModel): RecommenderModel | null {
  const model = rankingModel(rated);
  return supportsItemFoldIn(model) ? model : null;
}

/**
 * `train.newItems` resolved for a trained model: `warm-up` and `fold-in` as configured (the fold-in
 * only where {@link foldInCandidate} allows it), `auto` by chooseNewItems on the validation users
 * with the trial below. Returns the way and, for `auto`, the choice's scores.
 */
export async function resolveNewItems(
  rated: RecommenderModel,
  setting: NewItemsWay | 'auto',
  ctx: NewItemsContext,
): Promise<{ way: NewItemsWay; choice: NewItemsChoice | null }> {
  const model = foldInCandidate(rated);
  if (!model || setting === 'warm-up') return { way: 'warm-up', choice: null };
  if (setting === 'fold-in') return { way: 'fold-in', choice: null };
  if (ctx.validation.length === 0) return { way: 'warm-up', choice: null };
  const choice = await chooseNewItems(newItemsTrial(rated, model, ctx), ctx);
  return { way: choice?.way ?? 'warm-up', choice };
}

/**
 * The trial chooseNewItems runs for `model` (the rating model itself, or its ranker, which reads
 * evidence as interactions of value 1): the warm-up by core warmUpItems, the fold-in from the
 * evidence users' heads adapted on their histories against the training users' user base; ranked
 * as P2 ranks (rankTasks).
 */
function newItemsTrial(
  rated: RecommenderModel,
  model: RecommenderModel,
  ctx: NewItemsContext,
): NewItemsTrial {
  const asInteractions = (evidence: readonly RatingEvent[]) =>
    model === rated ? evidence : evidence.map((r) => ({ ...r, value: 1 }));
  let historyHeads: { of: readonly Task[]; heads: TrainingHeads } | undefined;
  return {
    isWarm: (id) => model.itemIdIndex.has(id),
    rows: (way, evidence, items, histories) => {
      if (way === 'warm-up') return warmRowsFromEvidence(model, asInteractions(evidence), items, ctx.users);
      if (historyHeads?.of !== histories)
        historyHeads = { of: histories, heads: trainingHeads(model, histories, items) };
      return foldInRowsFromEvidence(model, asInteractions(evidence), items, {
        heads: historyHeads.heads.heads,
        base: ctx.trainingHeads(model).base,
      });
    },
    rank: (tasks, candidates, items: ItemCatalog, rows) => {
      const warm = rows && { warmItems: rows };
      return model === rated
        ? rankTasks(rated, tasks, candidates, items, { ...ctx.adaptOptions, ...warm }, ctx.signal)
        : rankTasks(rated, tasks, candidates, items, ctx.adaptOptions, ctx.signal, {
            ...model.adaptDefaults,
            ...warm,
          });
    },
  };
}
