import * as tf from '@tensorflow/tfjs-core';
export { EncodedItems } from './encoded-items';
import { ValidationError } from '../errors';
import { encodeRows, newEncodeStats, type EncodeStats } from '../features/encoder';
import type { FeatureSpec } from '../features/spec';
import type { NegativePool } from '../negatives/pool';
import type { Neighbourhood } from '../neighbours/neighbourhood';
import type { ContentNeighbourhood } from '../neighbours/content';
import type { UserBase } from '../item-fold-in';
import type { WarmUpOptions } from '../item-warmup';
import type { ItemRecord } from '../types';
import { groupOf, resolveConfig, type ModelConfig } from './config';
import type { AdaptSettings } from './adapt-settings';
import { supportsClosedFormHead } from './head-only';
import { layoutOf, type NetLayout } from './layout';
import { EncodedItems } from './encoded-items';
import { initialValues, paramShapes, type Params } from './params';
import type { WarmItemIds } from './warm-items';

let nextUid = 1;

/** Trained values of a model, see {@link RecommenderModel.snapshot}. */
export interface ModelSnapshot {
  params: Map<string, Float32Array>;
  innerLrs: Map<string, Float32Array> | null;
  globalMean: number;
}

/** How a model was trained (stored in artifacts). */
export interface TrainingInfo {
  algorithm: string;
  innerSteps: number;
  innerLr: number;
  /** Closed-form ridge head penalty used instead of the inner steps (absent or null: steps). */
  innerRidge?: number | null;
  /** Episodes' support sizes when not the full sets (`uniform` or `log-uniform`). */
  supportSizes?: string;
  /** Query loss of a Bayesian last layer (`nll` or `mse`). */
  bayesLoss?: string;
  outerLr: number;
  metaBatchSize: number;
  epochs: number;
  seed: number;
  tasks: number;
  metaBatches: number;
  finalLoss?: number;
}

/**
 * How `adapt` adapts by default (see {@link RecommenderModel.adaptDefaults}).
 * @deprecated The same type as {@link AdaptSettings}; use that name.
 */
export type AdaptDefaults = AdaptSettings;

/**
 * A recommender: feature spec, configuration and the global (meta-learned) parameters. Local
 * parameters are the global values of the {@link ModelConfig.localGroups} used as the starting
 * point of per-user adaptation. Call {@link RecommenderModel.dispose} to free its tensors.
 */
export class RecommenderModel {
  readonly layout: NetLayout;
  /** Global parameters by name, as tfjs variables. */
  readonly params: Record<string, tf.Variable>;
  /** Meta-SGD: learned per-parameter inner learning rates (same shapes as the local parameters). */
  innerLrs: Record<string, tf.Variable> | null = null;
  /**
   * Adaptation used by `adapt` unless overridden (set by metaTrain): inner steps and learning rate,
   * or, with `ridge` set, the closed-form ridge head with that penalty.
   */
  adaptDefaults: AdaptSettings = { steps: 5, lr: 0.1, ridge: null };
  /** Offset of rating predictions (0 for implicit feedback). */
  globalMean: number;
  /** True once the global mean was fitted to data (metaTrain then keeps it). */
  meanFitted = false;
  /** Item id -> row of `id.item` (1-based; 0 means no ID embedding). */
  readonly itemIdIndex: Map<string, number>;
  /** User id -> row of `id.user` (1-based; 0 is the cold-user row). Empty without user IDs. */
  readonly userIdIndex: Map<string, number>;
  training: TrainingInfo | null = null;
  /** Feature fallbacks (OOV, missing) counted while encoding for this model. */
  readonly encodeStats: EncodeStats = newEncodeStats();
  /**
   * Encoded support-item rows by item record: `adapt` reuses them across calls (serving adapts the
   * same catalog items over and over; encoding them was the largest cost of batched adaptation).
   * Rows depend only on the feature spec, so parameter changes do not invalidate them; a changed
   * item is a new record object. Fallbacks are counted in `encodeStats` once per record.
   */
  readonly supportRows = new WeakMap<object, Float32Array>();
  /**
   * Implicit models with `config.negatives`: the catalog negatives are sampled from (built by
   * metaTrain or buildNegativePool, stored in artifacts). Null otherwise.
   */
  negativePool: NegativePool | null = null;
  /**
   * Catalog fold-in models whose new items fold in (item-fold-in-histories.ts) rather than warm
   * up: the training users' user base they fold in against (stored in artifacts). Null: new
   * items warm up (warmUpItems).
   */
  foldInBase: UserBase | null = null;
  /**
   * Tensors derived from the parameters alone and reused across calls (e.g. the catalog fold-in's
   * Gram matrix), each with the model version it was computed at; freed by dispose().
   */
  readonly derived = new Map<string, { version: number; tensor: tf.Tensor }>();
  /**
   * The model that orders candidates for a rating model (see model/ranker.ts, attachRanker): an
   * implicit model over the same items, since which items a user rates at all is not what a
   * rating regression learns. Null: the model ranks by its own scores. Owned: disposed with it.
   */
  ranker: RecommenderModel | null = null;
  /**
   * With a ranker: the lowest rating of a new item's evidence the ranker takes as a positive
   * interaction, lower ones negative (model/ranker.ts, rankerEvidence; stored in artifacts).
   * Null: every rating positive.
   */
  rankerEvidenceMin: number | null = null;
  /**
   * Implicit models: the item neighbourhood whose weighted score is added to the network's
   * (neighbours/neighbourhood.ts, setNeighbourhood; stored in artifacts). Null: the network alone.
   */
  neighbourhood: Neighbourhood | null = null;
  /**
   * Ranking models: the content neighbourhood scored for items without an ID row (added after
   * training): neighbours/content.ts, setContentNeighbourhood; stored in artifacts.
   */
  contentNeighbourhood: ContentNeighbourhood | null = null;
  /**
   * Item warm-up settings of this model (item-warmup.ts, warmUpItems: `options` override them,
   * they override DEFAULT_WARMUP), e.g. a ranker's weaker pull towards the generated row; stored
   * in artifacts. Empty: the defaults.
   */
  itemWarmUp: WarmUpOptions = {};
  /** Bumped on every parameter change; caches such as {@link EncodedItems} check it. */
  version = 0;
  /** Unique prefix of this model's tfjs variable names. */
  readonly uid = `warmstart${nextUid++}`;

  constructor(
    readonly spec: FeatureSpec,
    readonly config: ModelConfig,
    values?: Map<string, Float32Array>,
  ) {
    this.layout = layoutOf(spec, config);
    this.itemIdIndex = new Map((config.idEmbeddings?.itemIds ?? []).map((id, i) => [id, i + 1]));
    this.userIdIndex = new Map((config.idEmbeddings?.userIds ?? []).map((id, i) => [id, i + 1]));
    const shapes = paramShapes(this.layout, this.itemIdIndex.size, this.userIdIndex.size);
    const init = values ?? initialValues(shapes, config.seed);
    // Check every weight before creating any variable, so a bad artifact leaks nothing.
    for (const [name, shape] of shapes) {
      const size = shape.reduce((a, b) => a * b, 1);
      if (init.get(name)?.length !== size)
        throw new ValidationError(`weights.${name}`, `expected ${size} values`);
    }
    this.params = {};
    try {
      for (const [name, shape] of shapes) {
        // tidy frees the initial tensor (the variable keeps its data).
        this.params[name] = tf.tidy(() =>
          tf.variable(tf.tensor(init.get(name)!, shape), true, `${this.uid}/${name}`),
        );
      }
    } catch (err) {
      // Creating a variable failed part way (e.g. out of memory): free the ones already made.
      for (const v of Object.values(this.params)) v.dispose();
      throw err;
    }
    this.globalMean =
      config.task === 'rating'
        ? (config.globalMean ?? (config.ratingRange[0] + config.ratingRange[1]) / 2)
        : 0;
  }

  /** Names of the parameters adapted per user, in weight order. */
  localNames(): string[] {
    return Object.keys(this.params).filter((n) => this.config.localGroups.includes(groupOf(n)));
  }

  /** Whether the item embedding tables are shared (so item content vectors can be cached). */
  get contentIsGlobal(): boolean {
    return !this.config.localGroups.includes('embeddings');
  }

  /**
   * Whether the first decision layer is shared too (e.g. ANIL), so the item half of its
   * pre-activation can be computed once per item and model version.
   */
  get firstLayerIsGlobal(): boolean {
    return this.contentIsGlobal && !this.config.localGroups.includes('decision');
  }

  /**
   * Whether encoded items carry retrieval features, so large candidate sets can be ranked in two
   * stages (rankShortlist): a shared first layer and two or more decision layers (with one, exact
   * scoring already costs one dot product per candidate).
   */
  get shortlists(): boolean {
    return this.firstLayerIsGlobal && this.layout.hidden.length > 1;
  }

  /**
   * Whether closed-form head adaptation applies: only the output head is local
   * ({@link supportsClosedFormHead} of `config.localGroups`). Implicit models regress the head on 1
   * for positives and 0 for negatives (an iALS-style fold-in).
   */
  get supportsRidge(): boolean {
    return supportsClosedFormHead(this.config.localGroups);
  }

  /** Whether scores are ranking scores (raw logits): implicit feedback with sampled negatives. */
  get rankingScores(): boolean {
    return this.layout.ranking;
  }

  /** The global parameters as plain tensors (the variables themselves). */
  globals(): Params {
    return { ...this.params };
  }

  /** Encodes users to a [B, 1, du] tensor (OOV and missing values are counted in `encodeStats`). */
  encodeUsers(users: readonly { features: ItemRecord['features'] }[]): tf.Tensor3D {
    const x = encodeRows(this.spec.user, users, this.encodeStats);
    return tf.tensor3d(x, [users.length, 1, this.layout.du]);
  }

  /**
   * Rows of `id.user` for users (0 = cold-user row: unknown users, models without user IDs, or
   * where `drop()` returns true, as meta-training does for a `userColdRate` share of known users).
   */
  userIdRows(users: readonly { id?: string }[], drop?: () => boolean): Int32Array {
    return Int32Array.from(users, (u) => {
      const row = (typeof u?.id === 'string' && this.userIdIndex.get(u.id)) || 0;
      return row > 0 && drop?.() ? 0 : row;
    });
  }

  /**
   * Encodes candidate items once for scoring many users: feature rows, ID rows and, while the
   * embeddings are global, the item content vectors and ID representations. `warmItems`: warmed
   * ID representations (see warmUpItems) used instead of the generator's or the own row.
   */
  encodeItems(items: readonly ItemRecord[], options: { warmItems?: WarmItemIds } = {}): EncodedItems {
    items.forEach((it, i) => {
      if (!it || typeof it.id !== 'string' || it.id === '')
        throw new ValidationError(`items[${i}].id`, 'is required');
    });
    return EncodedItems.encode(this, items, options.warmItems);
  }

  /**
   * A copy of every trained value (global parameters, Meta-SGD rates, global mean) in plain
   * arrays, for {@link RecommenderModel.restore}: e.g. keeping the best epoch for early stopping.
   */
  snapshot(): ModelSnapshot {
    const copy = (vars: Record<string, tf.Variable>) =>
      new Map(Object.entries(vars).map(([n, v]) => [n, v.dataSync().slice() as Float32Array]));
    return {
      params: copy(this.params),
      innerLrs: this.innerLrs ? copy(this.innerLrs) : null,
      globalMean: this.globalMean,
    };
  }

  /** Puts back the values of a {@link snapshot} taken from this model. */
  restore(s: ModelSnapshot): void {
    const put = (vars: Record<string, tf.Variable>, values: Map<string, Float32Array>) => {
      for (const [n, v] of Object.entries(vars)) {
        const data = values.get(n);
        if (!data || data.length !== v.size)
          throw new ValidationError(`snapshot.${n}`, 'does not match the model');
        v.assign(tf.tensor(data, v.shape));
      }
    };
    put(this.params, s.params);
    if (this.innerLrs) {
      if (!s.innerLrs)
        throw new ValidationError('snapshot.innerLrs', 'missing (the model has Meta-SGD rates)');
      put(this.innerLrs, s.innerLrs);
    }
    this.globalMean = s.globalMean;
    this.touch();
  }

  /** Marks the parameters as changed. */
  touch(): void {
    this.version++;
  }

  /** Frees every tensor of the model. */
  dispose(): void {
    for (const v of Object.values(this.params)) v.dispose();
    for (const d of this.derived.values()) d.tensor.dispose();
    this.derived.clear();
    for (const v of Object.values(this.innerLrs ?? {})) v.dispose();
    this.innerLrs = null;
    this.ranker?.dispose();
    this.ranker = null;
  }
}

/** Creates a model with seeded initial parameters. Defaults: {@link DEFAULT_CONFIG}. */
export function createModel(spec: FeatureSpec, config: Partial<ModelConfig> = {}): RecommenderModel {
  return new RecommenderModel(spec, resolveConfig(config));
}
