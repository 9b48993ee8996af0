import { GlobalMean } from '../baselines/global-mean';
import { ItemBias } from '../baselines/item-bias';
import { UserItemBias } from '../baselines/user-item-bias';
import type { BaselineName, TrainerConfig } from '../config/schema';
import type { MethodFactory } from './harness';

/** Extra method kinds that need @warmstart/core; registered by the meta-learning module. */
export type LearnerFactoryBuilder = (config: TrainerConfig) => {
  baselines: Partial<Record<BaselineName, MethodFactory>>;
  learners: MethodFactory[];
};

let coreMethods: LearnerFactoryBuilder | undefined;

/** The meta-learning module registers itself here, so the plain baselines never load TensorFlow.js. */
export function registerCoreMethods(builder: LearnerFactoryBuilder): void {
  coreMethods = builder;
}

/** Every baseline and meta-learner the config asks for, optionally narrowed to `only` (by name). */
export function buildMethods(config: TrainerConfig, only?: readonly string[]): MethodFactory[] {
  const range = config.model.ratingRange;
  const core = coreMethods?.(config);
  const plain: Record<string, MethodFactory> = {
    'global-mean': { name: 'global-mean', create: () => new GlobalMean() },
    'item-bias': { name: 'item-bias', create: () => new ItemBias(range) },
    'user-item-bias': { name: 'user-item-bias', create: () => new UserItemBias(range) },
  };
  const all: MethodFactory[] = [];
  const unavailable: string[] = [];
  for (const name of config.evaluate.baselines) {
    const f = plain[name] ?? core?.baselines[name];
    if (f) all.push(f);
    else unavailable.push(name);
  }
  if (core) all.push(...core.learners);
  else unavailable.push(...config.evaluate.learners.map((l) => l.name));
  const wanted = only ?? [...config.evaluate.baselines, ...config.evaluate.learners.map((l) => l.name)];
  for (const name of wanted) {
    if (unavailable.includes(name))
      throw new Error(`evaluate: "${name}" needs @warmstart/core's meta-learning, which is not loaded`);
    if (!all.some((m) => m.name === name)) {
      throw new Error(
        `--methods: unknown method "${name}" (configured: ${all.map((m) => m.name).join(', ')})`,
      );
    }
  }
  return all.filter((m) => wanted.includes(m.name));
}
