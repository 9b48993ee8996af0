import { ValidationError } from '../errors';
import { NEGATIVE_DISTRIBUTIONS, type NegativeDistribution } from '../negatives/pool';

/**
 * Implicit feedback learned from positives alone: negatives are sampled from the model's catalog
 * (`model.negativePool`) by `distribution`, `perPositive` per positive, for meta-training (a BPR
 * ranking loss of the query positives against sampled negatives) and for adaptation (the support
 * positives plus sampled negatives, labelled 0). Scores are then ranking scores (raw logits).
 */
export interface NegativeSampling {
  perPositive: number;
  distribution: NegativeDistribution;
}

/** Parameter groups; which are adapted per user is {@link ModelConfig.localGroups}. */
export type ParamGroup = 'embeddings' | 'idEmbeddings' | 'generator' | 'decision' | 'output' | 'headPrior';
/**
 * Groups that may be local (adapted per user). ID tables, the generator and the Bayesian head's
 * prior (`prior.*`) are always global.
 */
export const LOCAL_CAPABLE: readonly ParamGroup[] = ['embeddings', 'decision', 'output'];
/** MeLU: only the decision layers and the output layer adapt per user. */
export const MELU_LOCAL_GROUPS: ParamGroup[] = ['decision', 'output'];
/**
 * ANIL (Raghu et al. 2020): only the output head (out.w, out.b) adapts per user; embeddings and
 * decision layers are a shared, meta-learned trunk. Batched adaptation then runs the trunk once for
 * all users' support rows, and the item half of the first layer is precomputed per item.
 */
export const ANIL_LOCAL_GROUPS: ParamGroup[] = ['output'];

/** ID embeddings for warm items, with a MetaEmb-style generator for items without one. */
export interface IdEmbeddingConfig {
  /** Items that get their own ID embedding (typically the warm training items). */
  itemIds: string[];
  /** ID embedding size (default: embeddingDim). */
  dim?: number;
  /** During meta-training, the fraction of warm item occurrences scored with the generated embedding
   * instead of their own, so the generator learns to stand in for a missing ID (default 0.3). */
  coldRate?: number;
  /**
   * Optional warm-USER ID embeddings (off when absent). Each listed user gets a learned row of
   * `id.user` ([userIds.length + 1, dim]), concatenated to the user vector on the user side of the
   * first layer, as an item's ID embedding is on the item side (no bias column: the network and
   * the per-user output bias carry a user's offset). Users not listed use row 0, the "cold user"
   * row. Useful for warm users with long histories; MeLU-style cold start does not need it.
   */
  userIds?: string[];
  /** During meta-training, the fraction of tasks of listed users scored with row 0 instead of the
   * user's own row, so the cold-user row is trained (default: coldRate, i.e. 0.3). */
  userColdRate?: number;
}

/** Architecture and behaviour of a model. */
export interface ModelConfig {
  /** `rating`: regression with MSE, predictions clamped to `ratingRange`; `implicit`: logistic loss. */
  task: 'rating' | 'implicit';
  ratingRange: [number, number];
  embeddingDim: number;
  /** Decision layer sizes (ReLU). */
  hidden: number[];
  idEmbeddings: IdEmbeddingConfig | null;
  /** Groups adapted per user; the rest are global. */
  localGroups: ParamGroup[];
  /** Prediction offset for ratings; metaTrain sets it from the first meta-batch when absent. */
  globalMean?: number;
  /**
   * Closed-form user-bias step (ratings only, needs `out.b` local): before the inner gradient
   * steps, each user's output bias moves by the shrunk mean support residual
   * sum(mask * (y - pred)) / (n + userBiasShrinkage), i.e. the user bias of the user+item-bias
   * baseline, then the gradient steps adapt the local parameters from there. Differentiable, so
   * meta-gradients stay exact. `null` or absent: off (artifacts saved before this option load
   * with it off). Off by default in core; the trainer turns it on together with
   * `freezeItemBiases` (closed-form item biases kept fixed), the combination that measured best on
   * MovieLens-100K warm validation users (see apps/trainer/README.md). Must be > 0 when set.
   */
  userBiasShrinkage?: number | null;
  /**
   * Implicit models only: learn from positives with sampled negatives (see {@link NegativeSampling});
   * null or absent: the logistic loss on the labels given (0/1), scores are probabilities.
   */
  negatives?: NegativeSampling | null;
  /**
   * Bayesian last layer (see model/bayes-head.ts): the head-only model's output head gets a
   * meta-learned Gaussian prior (mean: out.w, out.b; diagonal precision `prior.logPrec`, the bias
   * included; noise `prior.logNoise`) and adapts to its closed-form posterior mean. metaTrain then
   * meta-learns through the posterior, and `adapt` uses it by default. Absent or false: off.
   */
  bayesHead?: boolean;
  /**
   * Implicit models with the Bayesian head and sampled negatives: adapt by the catalog fold-in
   * (model/catalog-fold-in.ts): the support positives lift the head against the whole catalog
   * as weak evidence of 0, instead of against sampled negatives; its weights are meta-learned.
   * Absent or false: off.
   */
  catalogFoldIn?: boolean;
  seed: number;
}

/** Defaults: MeLU architecture (embedding 32, two 64-unit layers), ratings 1..5, decision+output local. */
export const DEFAULT_CONFIG: ModelConfig = {
  task: 'rating',
  ratingRange: [1, 5],
  embeddingDim: 32,
  hidden: [64, 64],
  idEmbeddings: null,
  localGroups: MELU_LOCAL_GROUPS,
  userBiasShrinkage: null,
  seed: 1,
};

/** Fills defaults and validates; errors name the field. */
export function resolveConfig(partial: Partial<ModelConfig> = {}): ModelConfig {
  const c: ModelConfig = { ...DEFAULT_CONFIG, ...partial };
  // The user-bias step is a rating-scale residual; implicit models only get it when asked (an error).
  if (c.task === 'implicit' && partial.userBiasShrinkage === undefined) c.userBiasShrinkage = null;
  if (c.task !== 'rating' && c.task !== 'implicit')
    throw new ValidationError('config.task', 'must be rating or implicit');
  const [lo, hi] = c.ratingRange ?? [];
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi)) {
    throw new ValidationError('config.ratingRange', 'must be [min, max] with min < max');
  }
  if (!(Number.isInteger(c.embeddingDim) && c.embeddingDim > 0)) {
    throw new ValidationError('config.embeddingDim', 'must be a positive integer');
  }
  if (
    !Array.isArray(c.hidden) ||
    c.hidden.length === 0 ||
    c.hidden.some((h) => !(Number.isInteger(h) && h > 0))
  ) {
    throw new ValidationError('config.hidden', 'must be a non-empty array of positive integers');
  }
  c.localGroups.forEach((g, i) => {
    if (!LOCAL_CAPABLE.includes(g)) {
      throw new ValidationError(
        `config.localGroups[${i}]`,
        `"${g}" cannot be local (use ${LOCAL_CAPABLE.join(', ')})`,
      );
    }
  });
  if (c.localGroups.length === 0) throw new ValidationError('config.localGroups', 'needs at least one group');
  if (c.idEmbeddings) {
    const ids = c.idEmbeddings;
    if (!Array.isArray(ids.itemIds))
      throw new ValidationError('config.idEmbeddings.itemIds', 'must be an array');
    if (ids.dim !== undefined && !(Number.isInteger(ids.dim) && ids.dim > 0)) {
      throw new ValidationError('config.idEmbeddings.dim', 'must be a positive integer');
    }
    if (ids.coldRate !== undefined && !(ids.coldRate >= 0 && ids.coldRate <= 1)) {
      throw new ValidationError('config.idEmbeddings.coldRate', 'must be in [0, 1]');
    }
    if (ids.userIds !== undefined) {
      if (!Array.isArray(ids.userIds))
        throw new ValidationError('config.idEmbeddings.userIds', 'must be an array (or absent: off)');
      // A table of the cold row alone would be pointless (and tfjs cannot differentiate a
      // gather from a one-row table on every backend).
      if (ids.userIds.length === 0)
        throw new ValidationError(
          'config.idEmbeddings.userIds',
          'must list at least one user (or be absent: off)',
        );
      const seen = new Set<string>();
      ids.userIds.forEach((id, i) => {
        if (typeof id !== 'string' || id === '')
          throw new ValidationError(`config.idEmbeddings.userIds[${i}]`, 'must be a non-empty string');
        if (seen.has(id))
          throw new ValidationError(`config.idEmbeddings.userIds[${i}]`, `duplicate user id "${id}"`);
        seen.add(id);
      });
    }
    if (ids.userColdRate !== undefined && !(ids.userColdRate >= 0 && ids.userColdRate <= 1)) {
      throw new ValidationError('config.idEmbeddings.userColdRate', 'must be in [0, 1]');
    }
  }
  if (c.globalMean !== undefined && !Number.isFinite(c.globalMean)) {
    throw new ValidationError('config.globalMean', 'must be a finite number');
  }
  if (c.userBiasShrinkage !== null && c.userBiasShrinkage !== undefined) {
    if (c.task !== 'rating') {
      throw new ValidationError('config.userBiasShrinkage', 'applies to rating models only (use null)');
    }
    if (!(Number.isFinite(c.userBiasShrinkage) && c.userBiasShrinkage > 0)) {
      throw new ValidationError('config.userBiasShrinkage', 'must be a finite number > 0, or null (off)');
    }
  }
  if (c.negatives !== null && c.negatives !== undefined) {
    const n = c.negatives;
    if (c.task !== 'implicit')
      throw new ValidationError('config.negatives', 'applies to implicit models only (use null)');
    if (typeof n !== 'object')
      throw new ValidationError('config.negatives', 'must be { perPositive, distribution } or null');
    if (!(Number.isInteger(n.perPositive) && n.perPositive >= 1 && n.perPositive <= 100))
      throw new ValidationError('config.negatives.perPositive', 'must be an integer in [1, 100]');
    if (!NEGATIVE_DISTRIBUTIONS.includes(n.distribution))
      throw new ValidationError(
        'config.negatives.distribution',
        `must be ${NEGATIVE_DISTRIBUTIONS.join(' or ')}`,
      );
  }
  if (c.bayesHead !== undefined && typeof c.bayesHead !== 'boolean')
    throw new ValidationError('config.bayesHead', 'must be true or false');
  if (c.catalogFoldIn !== undefined && typeof c.catalogFoldIn !== 'boolean')
    throw new ValidationError('config.catalogFoldIn', 'must be true or false');
  if (c.catalogFoldIn && !(c.task === 'implicit' && c.negatives && c.bayesHead))
    throw new ValidationError(
      'config.catalogFoldIn',
      'needs an implicit model with config.negatives and config.bayesHead',
    );
  if (!Number.isInteger(c.seed)) throw new ValidationError('config.seed', 'must be an integer');
  return c;
}

/** The group a parameter belongs to, from its name prefix. */
export function groupOf(name: string): ParamGroup {
  if (name.startsWith('emb.')) return 'embeddings';
  if (name.startsWith('id.')) return 'idEmbeddings';
  if (name.startsWith('gen.')) return 'generator';
  if (name.startsWith('dec.')) return 'decision';
  if (name.startsWith('prior.')) return 'headPrior';
  return 'output';
}
