import { initBackend, type RecommenderModel } from '@warmstart/core';
import type { TrainerConfig } from '../config/schema';
import type { ItemCatalog, Task } from '../data/types';
import type { EvalMethod, FitContext, FitResult } from '../eval/method';
import { buildModel, initBiases } from './build-model';
import { predictTasks } from './predict';
import { pretrain } from './pretrain';
import { validationMae, pickBest } from '../baselines/tuning';

/** Fine-tuning grid, picked on the warm validation users (never on cold scenarios). */
const STEP_GRID = [0, 1, 5];
const LR_GRID = [0.01, 0.05];

/**
 * The non-meta baseline: the same network trained on all warm ratings as one plain regression
 * (metaTrain with no inner steps and every rating in the query set is exactly ordinary minibatch
 * training, a minibatch being B users' ratings), then fine-tuned on each task's support set.
 */
export class FineTunedNet implements EvalMethod {
  readonly name = 'fine-tuned-net';
  private model?: RecommenderModel;
  private adaptOptions = { steps: 1, lr: 0.01 };

  constructor(private readonly config: TrainerConfig) {}

  async fit(ctx: FitContext): Promise<FitResult> {
    const backend = await initBackend();
    const t = this.config.train;
    const f = this.config.evaluate.fineTuned;
    const model = buildModel(
      this.config.features,
      this.config.model,
      ctx.users,
      ctx.items.values(),
      ctx.train,
      ctx.seed,
    );
    this.model = model;
    await initBiases(model, this.config.model, ctx.train, ctx.items);
    const result = await pretrain(
      model,
      ctx.train,
      ctx.items,
      {
        outerLr: f.outerLr,
        metaBatchSize: t.metaBatchSize,
        epochs: f.epochs,
        seed: ctx.seed,
        freezeItemBiases: this.config.model.freezeItemBiases,
      },
      ctx.signal,
    );
    const grid = STEP_GRID.flatMap((steps) => LR_GRID.map((lr) => ({ steps, lr })));
    const scored = [];
    for (const options of grid) {
      const preds = await predictTasks(model, ctx.validation, ctx.items, options, 64, ctx.signal);
      const byTask = new Map(ctx.validation.map((task, i) => [task, preds[i]]));
      scored.push({ options, mae: validationMae(ctx.validation, (task) => byTask.get(task)!) });
    }
    this.adaptOptions = pickBest(scored, (s) => s.mae).options;
    return { lossHistory: result.lossHistory, backend: backend.name, tuned: { ...this.adaptOptions } };
  }

  async predict(tasks: readonly Task[], items: ItemCatalog, signal?: AbortSignal): Promise<Float32Array[]> {
    if (!this.model) throw new Error('fine-tuned-net: predict before fit');
    return predictTasks(this.model, tasks, items, this.adaptOptions, 64, signal);
  }

  dispose(): void {
    this.model?.dispose();
    this.model = undefined;
  }
}
