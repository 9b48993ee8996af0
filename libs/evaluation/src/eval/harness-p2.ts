/**
 * The protocol P2 harness: for each seed, split (src/protocol/p2.ts), then for each method fit on
 * the warm meta-training users (choices on the warm validation users only) and measure every
 * scenario, the warm validation users and both k-shot curves (p2-metrics.ts).
 */
import { performance } from 'node:perf_hooks';
import { itemCatalog, type Dataset, type FeedbackKind } from '../data/types';
import { splitP2, type P2Options, type P2Split } from '../protocol/p2';
import { newItemKShot, newUserKShot, type KShotView } from '../protocol/p2-kshot';
import type { NewItemBasis, NewUserBasis } from '../protocol/p2-order';
import { NEW_ITEM_SCENARIOS, SCENARIOS, type Scenario } from '../protocol/scenarios';
import { throwIfAborted } from '../util/abort';
import { silentProgress, type ProgressReporter } from '../util/progress';
import type { HarnessResult, KShotPoint, MethodFactory, MethodRun, SeedMethodRun } from './harness';
import type { EvalMethod, FitProgress } from './method';
import { p2Metrics, relevanceOf, type P2Metrics, type Relevance } from './p2-metrics';

/** Fewer scored tasks than this: reported, but flagged as too few to separate models (docs/protocols.md). */
export const MIN_SCENARIO_TASKS = 50;

export interface P2HarnessOptions {
  seeds: readonly number[];
  p2?: Partial<Omit<P2Options, 'seed'>>;
  /** Explicit data: relevant = a rating in the top `relevanceShare` of the scale. */
  relevanceShare: number;
  kShot: readonly number[];
  progress?: ProgressReporter;
  signal?: AbortSignal;
  onMethodDone?: (seed: number, result: MethodRun) => void;
  done?: readonly SeedMethodRun[];
}

/** What a P2 split was made of (first seed), for the report. */
export interface P2Facts {
  kind: FeedbackKind;
  scale: [number, number];
  hasTimes: boolean;
  basis: { newItems: NewItemBasis; newUsers: NewUserBasis };
  /** Explicit data: the lowest rating that counts as relevant for ranking. */
  relevanceThreshold: number | null;
  candidates: { warm_items: number; new_items: number };
  /** Scenarios (and `validation`) with fewer than MIN_SCENARIO_TASKS scored tasks. */
  tooSmall: string[];
}

/** The feedback kind and scale of a dataset (defaults: explicit [1, 5]). */
export function feedbackOf(dataset: Dataset): { kind: FeedbackKind; scale: [number, number] } {
  const kind = dataset.kind ?? 'explicit';
  return { kind, scale: kind === 'implicit' ? [0, 1] : (dataset.scale ?? [1, 5]) };
}

/** Scored tasks per scenario, warm-user partition sizes and facts of one split. */
export function describeP2Split(
  dataset: Dataset,
  split: P2Split,
  relevanceShare: number,
): Pick<HarnessResult, 'tasks' | 'splits'> & { p2: P2Facts } {
  const { kind, scale } = feedbackOf(dataset);
  const tasks = Object.fromEntries(SCENARIOS.map((s) => [s, split.tasks[s].length])) as Record<
    Scenario,
    number
  >;
  const tooSmall: string[] = SCENARIOS.filter((s) => tasks[s] < MIN_SCENARIO_TASKS);
  if (split.warm.validation.length < MIN_SCENARIO_TASKS) tooSmall.push('validation');
  return {
    tasks,
    splits: {
      warm_train: split.warm.train.length,
      warm_validation: split.warm.validation.length,
      warm_test: split.warm.test.length,
    },
    p2: {
      kind,
      scale,
      hasTimes: split.hasTimes,
      basis: split.basis,
      relevanceThreshold: kind === 'explicit' ? relevanceOf(kind, scale, relevanceShare).threshold : null,
      candidates: { warm_items: split.warmItemIds.length, new_items: split.newItemIds.length },
      tooSmall,
    },
  };
}

/** Runs protocol P2 for every method and seed. */
export async function runP2(
  dataset: Dataset,
  methods: readonly MethodFactory[],
  options: P2HarnessOptions,
): Promise<HarnessResult> {
  const progress = options.progress ?? silentProgress;
  const items = itemCatalog(dataset.items);
  const { kind, scale } = feedbackOf(dataset);
  const relevance = relevanceOf(kind, scale, options.relevanceShare);
  const runs: SeedMethodRun[] = [...(options.done ?? [])];
  let result: Omit<HarnessResult, 'runs'> | undefined;
  const bar = progress.start('evaluate p2', options.seeds.length * methods.length);
  let step = 0;
  try {
    for (const seed of options.seeds) {
      const split = splitP2(dataset, { ...options.p2, seed });
      result ??= {
        dataset: dataset.name,
        seeds: [...options.seeds],
        ...describeP2Split(dataset, split, options.relevanceShare),
      };
      const views = {
        newUsers: newUserKShot(split.tasks.new_user, options.kShot),
        newItems: newItemKShot(split, options.kShot),
      };
      for (const factory of methods) {
        throwIfAborted(options.signal);
        if (runs.some((r) => r.seed === seed && r.name === factory.name)) {
          bar.update(++step, { seed, method: factory.name });
          continue;
        }
        const at = step;
        // Fitting moves the bar through the first 70% of the method's step, scoring the rest; a
        // stage outside training (a choice on validation users) shows its own count in place.
        let value = at;
        const onProgress = (p: FitProgress, phase?: string) => {
          if (!p.stage)
            value =
              at +
              (phase ? 0.7 : 0) +
              (p.total > 0 ? Math.min(p.done / p.total, 0.99) : 0) * (phase ? 0.29 : 0.7);
          bar.update(value, {
            seed,
            method: factory.name,
            ...(phase && { phase }),
            ...(p.stage && { stage: `${p.stage} ${p.done}/${p.total}` }),
            ...(p.epoch !== undefined && { epoch: p.epoch }),
            ...(p.total > 0 && !phase && !p.stage && { batch: `${p.done}/${p.total}` }),
            ...(p.loss !== undefined && { loss: p.loss }),
          });
        };
        const run = await runMethod(factory.name, factory.create(seed), {
          dataset,
          split,
          views,
          items,
          relevance,
          kind,
          scale,
          signal: options.signal,
          onProgress,
        });
        runs.push({ ...run, seed });
        options.onMethodDone?.(seed, run);
        bar.update(++step, { seed, method: factory.name });
      }
    }
  } finally {
    bar.stop();
  }
  if (!result) throw new RangeError('evaluate: at least one seed is required');
  return { ...result, runs };
}

interface MethodInput {
  dataset: Dataset;
  split: P2Split;
  views: { newUsers: KShotView[]; newItems: KShotView[] };
  items: ReturnType<typeof itemCatalog>;
  relevance: Relevance;
  kind: FeedbackKind;
  scale: [number, number];
  signal?: AbortSignal;
  onProgress: (p: FitProgress, phase?: string) => void;
}

async function runMethod(name: string, method: EvalMethod, input: MethodInput): Promise<MethodRun> {
  const { split, items, relevance, signal } = input;
  try {
    const t0 = performance.now();
    const fit = await method.fit({
      train: split.warm.train,
      validation: split.warm.validation,
      items,
      users: input.dataset.users,
      seed: split.seed,
      signal,
      onProgress: (p) => input.onProgress(p),
      kind: input.kind,
      scale: input.scale,
      ranks: true,
    });
    const trainSeconds = (performance.now() - t0) / 1000;
    const candidatesOf = (s: Scenario) =>
      NEW_ITEM_SCENARIOS.includes(s) ? split.newItemIds : split.warmItemIds;
    // Scoring steps, for the progress bar: scenarios, validation, both curves.
    const total = SCENARIOS.length + 1 + input.views.newUsers.length + input.views.newItems.length;
    let done = 0;
    const scoring = () => input.onProgress({ done: ++done, total }, 'scoring');
    const measure = async (tasks: P2Split['tasks'][Scenario], candidates: string[], view?: KShotView) => {
      const m = await p2Metrics(
        method,
        { tasks, candidates, ...(view && { itemEvidence: view.itemEvidence }) },
        items,
        relevance,
        signal,
      );
      scoring();
      return m;
    };
    const scenarios = {} as Record<Scenario, P2Metrics>;
    for (const scenario of SCENARIOS) {
      throwIfAborted(signal);
      scenarios[scenario] = await measure(split.tasks[scenario], candidatesOf(scenario));
    }
    const validation = await measure(split.warm.validation, split.warmItemIds);
    const curve = async (views: KShotView[], candidates: string[]): Promise<KShotPoint[]> => {
      const points: KShotPoint[] = [];
      for (const view of views) points.push({ k: view.k, ...(await measure(view.tasks, candidates, view)) });
      return points;
    };
    const kShot = await curve(input.views.newUsers, split.warmItemIds);
    const kShotNewItems = await curve(input.views.newItems, split.newItemIds);
    return {
      name,
      scenarios,
      kShot,
      kShotNewItems,
      validation,
      trainSeconds,
      backend: fit.backend,
      lossHistory: fit.lossHistory,
      tuned: fit.tuned,
    };
  } finally {
    method.dispose?.();
  }
}
