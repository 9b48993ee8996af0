import {
  describeBackend,
  initBackend,
  type AdaptSettings,
  type RecommenderModel,
  type TrainProgress,
} from '@warmstart/core';
import type { ModelSection, TrainerConfig } from '../config/schema';
import { buildModel, initBiases } from './build-model';
import { predictTasks } from './predict';
import { pretrain } from './pretrain';
import { rankTasks, warmRowsFromEvidence } from './rank-tasks';
import { LEARNER_LR_GRID, LEARNER_STEP_GRID } from './tune-adapt';
import { validationObjective } from './validation-score';
import {
  type EvalMethod,
  type FitContext,
  type FitResult,
  type ItemCatalog,
  pickBest,
  type RankOptions,
  type RatingEvent,
  type Task,
  type UserRecord,
  validationSet,
} from '@warmstart/evaluation';

/**
 * The bias treatments tried (picked on the warm validation users, like the fine-tuning grid): the
 * configured model, the learners' bias backbone (closed-form item biases kept fixed, plus the
 * closed-form user-bias step before fine-tuning) and plain learned biases, without repeats, so the
 * non-meta baseline gets every trick the meta-learners get and is not held to one it does not need.
 */
export function modelVariants(model: ModelSection): [string, ModelSection][] {
  const all: [string, ModelSection][] = [['configured', model]];
  if (model.initItemBiases) {
    all.push([
      'backbone',
      { ...model, freezeItemBiases: true, userBiasShrinkage: model.userBiasShrinkage ?? 1 },
    ]);
  }
  all.push(['learned-biases', { ...model, freezeItemBiases: false, userBiasShrinkage: null }]);
  const key = (m: ModelSection) => `${m.freezeItemBiases}/${m.userBiasShrinkage}`;
  return all.filter(([, m], i) => all.findIndex(([, o]) => key(o) === key(m)) === i);
}

/** Fine-tuning grid (the learners' adaptation grid plus no fine-tuning), picked on the warm validation users. */
const GRID: AdaptSettings[] = [
  { steps: 0, lr: 0.01, ridge: null }, // no fine-tuning: the plain regression's prediction
  ...LEARNER_STEP_GRID.flatMap((steps) => LEARNER_LR_GRID.map((lr) => ({ steps, lr, ridge: null }))),
];

/**
 * The non-meta baseline: the same network trained on all warm ratings as one plain regression
 * (metaTrain with no inner steps and every rating in the query set is exactly ordinary minibatch
 * training, a minibatch being B users' ratings), then fine-tuned on each task's support set.
 */
export class FineTunedNet implements EvalMethod {
  readonly name = 'fine-tuned-net';
  private model?: RecommenderModel;
  private adaptOptions: AdaptSettings = { steps: 1, lr: 0.01, ridge: null };
  private users = new Map<string, UserRecord>();
  private warmed?: { evidence: readonly RatingEvent[]; rows: Map<string, Float32Array> | undefined };

  constructor(private readonly config: TrainerConfig) {}

  async fit(ctx: FitContext): Promise<FitResult> {
    const backend = await initBackend();
    this.users = new Map(ctx.users.map((u) => [u.id, u]));
    let best: { model: RecommenderModel; adapt: AdaptSettings; mae: number; variant: string } | undefined;
    let lossHistory: number[] = [];
    const validation = validationSet(ctx.validation, ctx.items, this.config.train.coldItemValidation);
    const variants = modelVariants(this.config.model);
    const epochs = this.config.evaluate.fineTuned.epochs;
    const perVariant = epochs * Math.ceil(ctx.train.length / this.config.train.metaBatchSize);
    for (const [index, [variant, section]] of variants.entries()) {
      const onProgress = (p: TrainProgress) =>
        ctx.onProgress?.({
          done: index * perVariant + p.metaBatch,
          total: variants.length * perVariant,
          epoch: index * epochs + p.epoch + 1,
          loss: p.loss,
        });
      const { model, lossHistory: losses } = await this.train(section, ctx, onProgress);
      const objective = validationObjective(model, validation, ctx);
      const scored = [];
      for (const adapt of GRID) scored.push({ adapt, mae: await objective(adapt) });
      const pick = pickBest(scored, (s) => s.mae);
      if (!best || pick.mae < best.mae) {
        best?.model.dispose();
        best = { model, adapt: pick.adapt, mae: pick.mae, variant };
        this.model = model; // owned from here on, so dispose() frees it even if a later variant fails
        lossHistory = losses;
      } else model.dispose();
    }
    this.adaptOptions = best!.adapt;
    return {
      lossHistory,
      backend: describeBackend(backend),
      tuned: { ...this.adaptOptions, biases: best!.variant },
    };
  }

  /** Plain regression on every warm-train rating (the same network and initialisation as the learners). */
  private async train(
    section: ModelSection,
    ctx: FitContext,
    onProgress: (p: TrainProgress) => void,
  ): Promise<{ model: RecommenderModel; lossHistory: number[] }> {
    const t = this.config.train;
    const f = this.config.evaluate.fineTuned;
    const model = buildModel(
      this.config.features,
      section,
      ctx.users,
      ctx.items.values(),
      ctx.train,
      ctx.seed,
      { kind: ctx.kind, scale: ctx.scale },
    );
    try {
      await initBiases(model, section, ctx.train, ctx.items);
      const result = await pretrain(
        model,
        ctx.train,
        ctx.items,
        {
          outerLr: f.outerLr,
          metaBatchSize: t.metaBatchSize,
          epochs: f.epochs,
          seed: ctx.seed,
          freezeItemBiases: section.freezeItemBiases,
        },
        ctx.signal,
        onProgress,
      );
      return { model, lossHistory: result.lossHistory };
    } catch (err) {
      model.dispose();
      throw err;
    }
  }

  /** Query predictions after fine-tuning on each support set; item evidence warms new items' ID rows up first. */
  async predict(
    tasks: readonly Task[],
    items: ItemCatalog,
    signal?: AbortSignal,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    const model = this.fitted('predict');
    return predictTasks(model, tasks, items, this.adaptWith(model, items, options), 64, signal);
  }

  /** P2 full-catalog ranking after fine-tuning on each support set (see rankTasks). */
  async rank(
    tasks: readonly Task[],
    candidates: readonly string[],
    items: ItemCatalog,
    options?: RankOptions,
  ): Promise<Float32Array[]> {
    const model = this.fitted('rank');
    return rankTasks(model, tasks, candidates, items, this.adaptWith(model, items, options), options?.signal);
  }

  private fitted(what: string): RecommenderModel {
    if (!this.model) throw new Error(`fine-tuned-net: ${what} before fit`);
    return this.model;
  }

  private adaptWith(model: RecommenderModel, items: ItemCatalog, options?: RankOptions) {
    const evidence = options?.itemEvidence;
    if (!evidence?.length) return this.adaptOptions;
    if (this.warmed?.evidence !== evidence) {
      this.warmed = { evidence, rows: warmRowsFromEvidence(model, evidence, items, this.users) };
    }
    return this.warmed.rows ? { ...this.adaptOptions, warmItems: this.warmed.rows } : this.adaptOptions;
  }

  dispose(): void {
    this.model?.dispose();
    this.model = undefined;
    this.warmed = undefined;
  }
}
