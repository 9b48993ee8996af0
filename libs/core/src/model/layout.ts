import type { FeatureSpec } from '../features/spec';
import type { ModelConfig } from './config';

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
  task: 'rating' | 'implicit';
  /** Shrinkage of the closed-form user-bias step of the inner loop; null: no such step. */
  userBiasShrinkage: number | null;
}

/** Computes the layout of a model. */
export function layoutOf(spec: FeatureSpec, config: ModelConfig): NetLayout {
  const ranges = (fs: { name: string; offset: number; width: number }[]) =>
    fs.map(({ name, offset, width }) => ({ name, offset, width }));
  return {
    userFields: ranges(spec.user.fields),
    itemFields: ranges(spec.item.fields),
    du: spec.user.width,
    di: spec.item.width,
    e: config.embeddingDim,
    hidden: config.hidden,
    idDim: config.idEmbeddings ? (config.idEmbeddings.dim ?? config.embeddingDim) : 0,
    task: config.task,
    userBiasShrinkage: config.task === 'rating' ? (config.userBiasShrinkage ?? null) : null,
  };
}

/** Width of the first decision layer's input: user vector, item content vector, item ID embedding. */
export function inputWidth(l: NetLayout): number {
  return l.userFields.length * l.e + l.itemFields.length * l.e + l.idDim;
}
