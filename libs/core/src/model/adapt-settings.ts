/**
 * How users are adapted to their support sets: `steps` inner gradient steps with learning rate
 * `lr`, or, with `ridge` set, the head in closed form (a ridge regression with that penalty on the
 * trunk's features) instead of the steps, on head-only models (see supportsClosedFormHead).
 * A model's own are `RecommenderModel.adaptDefaults` (stored in its artifact); `adapt` takes any
 * of them as overrides (`AdaptOptions`). Models with a Bayesian last layer adapt
 * to its posterior by default, whatever these say (`AdaptOptions.bayes`).
 */
export interface AdaptSettings {
  /** Inner gradient steps. */
  steps: number;
  /** Inner learning rate (Meta-SGD models use their learned rates unless `adapt` is given one). */
  lr: number;
  /** Closed-form ridge head with this penalty (> 0) instead of the gradient steps; null: steps. */
  ridge: number | null;
  /**
   * Catalog fold-in models (`config.catalogFoldIn`): an interaction's lift grows with the user's
   * support size n as lift * (1 + evidenceGrowth * n), so the user's own evidence outweighs the
   * popularity prior (the item biases) more the more of it there is; without it the fold-in's
   * move saturates at the lift while the biases stay, and a long history ranks as popularity-
   * bound as a short one. Equivalently, for ranking, the item biases' weight falls as
   * 1 / (1 + evidenceGrowth * n). Absent or 0: a constant lift. Other models ignore it.
   */
  evidenceGrowth?: number;
}
