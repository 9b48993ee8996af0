import { rowWidth } from '../features/encoder';
import type { EntitySpec, FeatureSpec } from '../features/spec';
import type { ModelConfig } from './config';

/**
 * The one field of an entity declared without fields: its encoded row is a single constant 1
 * (see rowWidth), embedded like any field, so the user (or item) vector is a learned constant.
 */
export const CONSTANT_FIELD = '_constant';

/** Column range of one field inside an entity's input row. */
export interface FieldRange {
  name: string;
  offset: number;
  width: number;
}

/** Static shapes of the network, derived from the feature spec and the config. */
export interface NetLayout {
  userFields: FieldRange[];
  itemFields: FieldRange[];
  /** Input row widths. */
  du: number;
  di: number;
  /** Field embedding size. */
  e: number;
  hidden: number[];
  /** ID embedding size (0 without ID embeddings); ID rows carry one extra column, the item's bias. */
  idDim: number;
  /** User ID embedding size: idDim with `idEmbeddings.userIds`, else 0 (rows of `id.user`, no bias column). */
  userIdDim: number;
  task: 'rating' | 'implicit';
  /** Shrinkage of the closed-form user-bias step of the inner loop; null: no such step. */
  userBiasShrinkage: number | null;
  /** Implicit feedback with sampled negatives: BPR query loss, raw logits as (ranking) scores. */
  ranking: boolean;
  /** Bayesian last layer: the prior's precision and noise parameters exist (prior.*). */
  bayesHead: boolean;
  /** Catalog fold-in of implicit feedback (config.catalogFoldIn): prior.logCatalog and prior.logLift exist. */
  foldIn: boolean;
}

/** Computes the layout of a model. */
export function layoutOf(spec: FeatureSpec, config: ModelConfig): NetLayout {
  const ranges = (entity: EntitySpec): FieldRange[] =>
    entity.fields.length === 0
      ? [{ name: CONSTANT_FIELD, offset: 0, width: 1 }]
      : entity.fields.map(({ name, offset, width }) => ({ name, offset, width }));
  return {
    userFields: ranges(spec.user),
    itemFields: ranges(spec.item),
    du: rowWidth(spec.user),
    di: rowWidth(spec.item),
    e: config.embeddingDim,
    hidden: config.hidden,
    idDim: config.idEmbeddings ? (config.idEmbeddings.dim ?? config.embeddingDim) : 0,
    userIdDim: config.idEmbeddings?.userIds ? (config.idEmbeddings.dim ?? config.embeddingDim) : 0,
    task: config.task,
    userBiasShrinkage: config.task === 'rating' ? (config.userBiasShrinkage ?? null) : null,
    ranking: config.task === 'implicit' && !!config.negatives,
    bayesHead: config.bayesHead === true,
    foldIn: config.catalogFoldIn === true,
  };
}

/** True when the trunk's features of an item are the same for every user (no user features, no user IDs). */
export function trunkIgnoresUser(l: NetLayout): boolean {
  return l.userIdDim === 0 && l.userFields.length === 1 && l.userFields[0].name === CONSTANT_FIELD;
}

/** Width of the user vector: field embeddings plus the user ID embedding (if any). */
export function userWidth(l: NetLayout): number {
  return l.userFields.length * l.e + l.userIdDim;
}

/** Width of the first decision layer's input: user vector (+ user ID), item content vector, item ID embedding. */
export function inputWidth(l: NetLayout): number {
  return userWidth(l) + l.itemFields.length * l.e + l.idDim;
}
