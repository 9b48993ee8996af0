import { localGroupsFor, type Algorithm } from '../meta/algorithm';
import type { ParamGroup } from './config';

/**
 * Whether a model adapts its output head only, which closed-form head adaptation needs (the ridge
 * head, `AdaptOptions.ridge` and `MetaTrainOptions.innerRidge`, and the Bayesian last layer,
 * `config.bayesHead`): its only local group is `output` (ANIL), rating and implicit tasks alike.
 *
 * With `algorithm`, for the model that algorithm trains from a configuration with these
 * `localGroups`, decided before any model exists: `anil` always (it makes the head the only local
 * group), `melu` never (decision + output), `meta-sgd` never (its learned per-parameter rates are
 * its adaptation), `maml`, `fomaml` and `reptile` as `localGroups` says.
 */
export function supportsClosedFormHead(localGroups: readonly ParamGroup[], algorithm?: Algorithm): boolean {
  if (algorithm === 'meta-sgd') return false;
  const groups = algorithm ? localGroupsFor(algorithm, localGroups) : localGroups;
  return groups.length === 1 && groups[0] === 'output';
}
