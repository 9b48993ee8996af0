/** @warmstart/core: features, model, meta-learning, adaptation, metrics and artifacts. */
export * from './metrics/regression';
