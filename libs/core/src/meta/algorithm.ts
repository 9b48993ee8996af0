import { ANIL_LOCAL_GROUPS, MELU_LOCAL_GROUPS, type ParamGroup } from '../model/config';

/**
 * Meta-learning algorithms. `melu` is second-order MAML with only decision + output layers local;
 * `anil` is second-order MAML with only the output head local (shared trunk).
 */
export type Algorithm = 'maml' | 'fomaml' | 'reptile' | 'meta-sgd' | 'melu' | 'anil';
export const ALGORITHMS: readonly Algorithm[] = ['maml', 'fomaml', 'reptile', 'meta-sgd', 'melu', 'anil'];

/**
 * The parameter groups a model trained by `algorithm` adapts per user: `melu` and `anil` fix their
 * own (MELU_LOCAL_GROUPS, ANIL_LOCAL_GROUPS), the others adapt the `configured` ones.
 */
export function localGroupsFor(
  algorithm: Algorithm,
  configured: readonly ParamGroup[],
): readonly ParamGroup[] {
  if (algorithm === 'melu') return MELU_LOCAL_GROUPS;
  if (algorithm === 'anil') return ANIL_LOCAL_GROUPS;
  return configured;
}
