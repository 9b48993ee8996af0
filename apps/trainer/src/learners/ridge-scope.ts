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
