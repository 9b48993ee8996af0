import { GlobalMean } from '../baselines/global-mean';
import { ItemBias } from '../baselines/item-bias';
import { UserItemBias } from '../baselines/user-item-bias';
import type { BaselineName, TrainerConfig } from '../config/schema';
import { FineTunedNet } from '../meta/fine-tuned-net';
import { MetaLearner, type LearnerSettings } from '../meta/meta-learner';
import type { MethodFactory } from './harness';
import { adaptsHeadOnly, ridgeFor } from '../meta/ridge-scope';

/** A configured learner with `train`, `model` and `adapt` defaults filled in. */
export function learnerSettings(
  config: TrainerConfig,
  learner: TrainerConfig['evaluate']['learners'][number],
): LearnerSettings {
  const t = config.train;
  const algorithm = learner.algorithm ?? t.algorithm;
  const model = { ...config.model, ...learner.model };
  const headOnly = adaptsHeadOnly(algorithm, model.localGroups);
  return {
    name: learner.name,
    algorithm,
    innerSteps: learner.innerSteps ?? t.innerSteps,
    innerLr: learner.innerLr ?? t.innerLr,
    innerRidge: ridgeFor(learner.innerRidge, t.innerRidge, headOnly),
    outerLr: learner.outerLr ?? t.outerLr,
    metaBatchSize: learner.metaBatchSize ?? t.metaBatchSize,
    epochs: learner.epochs ?? t.epochs,
    pretrainEpochs: learner.pretrainEpochs ?? t.pretrainEpochs,
    patience: learner.patience ?? t.patience,
    coldItemValidation: learner.coldItemValidation ?? t.coldItemValidation,
    model,
    adapt: {
      ...config.adapt,
      ...learner.adapt,
      ridge: ridgeFor(learner.adapt?.ridge, config.adapt.ridge, headOnly),
    },
    tuneAdapt: config.evaluate.tuneAdapt,
  };
}

/** Every baseline and meta-learner the config asks for, optionally narrowed to `only` (by name). */
export function buildMethods(config: TrainerConfig, only?: readonly string[]): MethodFactory[] {
  const range = config.model.ratingRange;
  const baselines: Record<BaselineName, MethodFactory> = {
    'global-mean': { name: 'global-mean', create: () => new GlobalMean() },
    'item-bias': { name: 'item-bias', create: () => new ItemBias(range) },
    'user-item-bias': { name: 'user-item-bias', create: () => new UserItemBias(range) },
    'fine-tuned-net': { name: 'fine-tuned-net', create: () => new FineTunedNet(config) },
  };
  const all: MethodFactory[] = config.evaluate.baselines.map((name) => baselines[name]);
  for (const learner of config.evaluate.learners) {
    const settings = learnerSettings(config, learner);
    if (all.some((m) => m.name === settings.name))
      throw new Error(`evaluate.learners: duplicate name "${settings.name}"`);
    all.push({ name: settings.name, create: () => new MetaLearner(settings, config.features) });
  }
  if (!only) return all;
  for (const name of only) {
    if (!all.some((m) => m.name === name)) {
      throw new Error(
        `--methods: unknown method "${name}" (configured: ${all.map((m) => m.name).join(', ')})`,
      );
    }
  }
  return all.filter((m) => only.includes(m.name));
}
