/**
 * @warmstart/feature-store/registry: what warmstart keeps about its models and jobs, beside the
 * features: the model registry (versions, promotion, rollback) and training runs with the named
 * leases that keep scheduled jobs apart. A FeatureStore opens them on its database
 * (`store.registry`, `store.runs`); this entry point holds their types and classes.
 */
export {
  ModelRegistry,
  type ModelStatus,
  type ModelVersionRecord,
  type RegisterModelInput,
} from './model-registry';
export { TrainingRuns, type RunStatus, type TrainingRunRecord } from './training-runs';
