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
}
