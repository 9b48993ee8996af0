import type { Algorithm } from '@warmstart/core';

/**
 * Whether a learner adapts only the output head, which the closed-form ridge head needs: `anil`
 * always does; `melu` and `meta-sgd` never; the others when `model.localGroups` is `["output"]`.
 */
export function adaptsHeadOnly(algorithm: Algorithm, localGroups: readonly string[]): boolean {
  if (algorithm === 'anil') return true;
  if (algorithm === 'melu' || algorithm === 'meta-sgd') return false;
  return localGroups.length === 1 && localGroups[0] === 'output';
}

/**
 * The ridge penalty a learner uses: its own setting when it has one, otherwise the shared
 * (`train` or `adapt`) one, which applies to head-only learners only so that one config can list
 * head-only and full-network learners side by side.
 */
export function ridgeFor(
  own: number | null | undefined,
  shared: number | null,
  headOnly: boolean,
): number | null {
  if (own !== undefined) return own;
  return headOnly ? shared : null;
}
