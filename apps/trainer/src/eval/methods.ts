import { supportsClosedFormHead } from '@warmstart/core';
import type { BaselineName, P2BaselineName, TrainerConfig } from '../config/schema';
import { FineTunedNet } from '../learners/fine-tuned-net';
import { bayesHeadFor, epochsFor, supportSizesFor } from '../learners/head-choice';
import { MetaLearner, type LearnerSettings } from '../learners/meta-learner';
import { ridgeFor } from '../learners/ridge-scope';
import {
  BiasedMf,
  ContentKnn,
  type EvalMethod,
  type FeedbackKind,
  GlobalMean,
  ImplicitAls,
  ItemBias,
  ItemKnn,
  type MethodFactory,
  Popularity,
  UserItemBias,
} from '@warmstart/evaluation';

/** A configured learner with `train`, `model` and `adapt` defaults filled in. */
export function learnerSettings(
  config: TrainerConfig,
  learner: TrainerConfig['evaluate']['learners'][number],
  kind: FeedbackKind = 'explicit',
): LearnerSettings {
  const t = config.train;
  const algorithm = learner.algorithm ?? t.algorithm;
  const model = { ...config.model, ...learner.model };
  const headOnly = supportsClosedFormHead(model.localGroups, algorithm);
  // The Bayesian head replaces the ridge head (its posterior is the adaptation); like the shared
  // ridge penalty, the shared setting applies to head-only learners only.
  const bayesHead = bayesHeadFor(learner.bayesHead ?? (headOnly && t.bayesHead), kind);
  return {
    name: learner.name,
    algorithm,
    innerSteps: learner.innerSteps ?? t.innerSteps,
    innerLr: learner.innerLr ?? t.innerLr,
    innerRidge: bayesHead ? null : ridgeFor(learner.innerRidge, t.innerRidge, headOnly),
    outerLr: learner.outerLr ?? t.outerLr,
    metaBatchSize: learner.metaBatchSize ?? t.metaBatchSize,
    epochs: epochsFor(learner.epochs ?? t.epochs, kind),
    pretrainEpochs: learner.pretrainEpochs ?? t.pretrainEpochs,
    patience: learner.patience ?? t.patience,
    coldItemValidation: learner.coldItemValidation ?? t.coldItemValidation,
    negatives: learner.negatives ?? t.negatives,
    bayesHead,
    bayesLoss: learner.bayesLoss ?? t.bayesLoss,
    supportSizes: supportSizesFor(learner.supportSizes ?? t.supportSizes, kind),
    ranker: kind === 'explicit' ? (learner.ranker ?? t.ranker) : 'off',
    newItems: learner.newItems ?? t.newItems,
    neighbourhood: learner.neighbourhood ?? t.neighbourhood,
    model,
    adapt: {
      ...config.adapt,
      ...learner.adapt,
      ridge: bayesHead ? null : ridgeFor(learner.adapt?.ridge, config.adapt.ridge, headOnly),
    },
    tuneAdapt: config.evaluate.tuneAdapt,
  };
}

/** What P2 builds methods for: the data's feedback kind and declared scale. */
export interface P2Target {
  kind: FeedbackKind;
  scale: [number, number];
  /** Whether items share some content (content-kNN runs by default only then: ContentKnn.applicable). */
  itemContent: boolean;
}

/** P2's baselines and the feedback kinds each runs on by default. */
function p2Baselines(
  config: TrainerConfig,
  scale: [number, number],
): Record<P2BaselineName, { kinds: readonly FeedbackKind[]; create: () => EvalMethod }> {
  return {
    // On explicit data global-mean ranks by popularity too: one of the two by default, not both.
    popularity: { kinds: ['implicit'], create: () => new Popularity() },
    'global-mean': { kinds: ['explicit'], create: () => new GlobalMean() },
    'item-bias': { kinds: ItemBias.kinds, create: () => new ItemBias(scale) },
    'user-item-bias': { kinds: UserItemBias.kinds, create: () => new UserItemBias(scale) },
    'item-knn': { kinds: ItemKnn.kinds, create: () => new ItemKnn(scale) },
    als: { kinds: ImplicitAls.kinds, create: () => new ImplicitAls() },
    'biased-mf': { kinds: BiasedMf.kinds, create: () => new BiasedMf(scale) },
    'content-knn': { kinds: ContentKnn.kinds, create: () => new ContentKnn(scale) },
    'fine-tuned-net': { kinds: ['explicit', 'implicit'], create: () => new FineTunedNet(config) },
  };
}

/**
 * Every baseline and meta-learner the config asks for, optionally narrowed to `only` (by name).
 * P1: `evaluate.baselines`; P2 (`p2` given): `evaluate.p2.baselines`, by default every P2
 * baseline that runs on the data's feedback kind.
 */
export function buildMethods(
  config: TrainerConfig,
  only?: readonly string[],
  p2?: P2Target,
): MethodFactory[] {
  const range = config.model.ratingRange;
  const baselines: Record<BaselineName, MethodFactory> = {
    'global-mean': { name: 'global-mean', create: () => new GlobalMean() },
    'item-bias': { name: 'item-bias', create: () => new ItemBias(range) },
    'user-item-bias': { name: 'user-item-bias', create: () => new UserItemBias(range) },
    'fine-tuned-net': { name: 'fine-tuned-net', create: () => new FineTunedNet(config) },
  };
  const all: MethodFactory[] = p2
    ? p2BaselineFactories(config, p2)
    : config.evaluate.baselines.map((name) => baselines[name]);
  for (const learner of config.evaluate.learners) {
    const settings = learnerSettings(config, learner, p2?.kind ?? 'explicit');
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

function p2BaselineFactories(config: TrainerConfig, p2: P2Target): MethodFactory[] {
  const registry = p2Baselines(config, p2.scale);
  const configured = config.evaluate.p2.baselines;
  const names =
    configured ??
    (Object.keys(registry) as P2BaselineName[]).filter(
      (n) => registry[n].kinds.includes(p2.kind) && (n !== 'content-knn' || p2.itemContent),
    );
  return names.map((name) => {
    const entry = registry[name];
    // popularity's default kind is implicit, but it ranks explicit data too when asked for.
    if (configured && !entry.kinds.includes(p2.kind) && name !== 'popularity') {
      throw new Error(
        `evaluate.p2.baselines: "${name}" does not run on ${p2.kind} feedback (it runs on ${entry.kinds.join(', ')})`,
      );
    }
    return { name, create: () => entry.create() };
  });
}
