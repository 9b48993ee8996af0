/**
 * @warmstart/feature-store: Prisma feature store over SQLite (default) and PostgreSQL. The model
 * registry and training runs it opens on the same database have their own entry point,
 * `@warmstart/feature-store/registry`.
 */
export * from './database-url';
export * from './errors';
export type * from './types';
export { migrate, type MigrateResult } from './db/migrate';
export { resolveDatabase, type ResolvedDatabase } from './db/location';
export { checkExistingDatabase } from './db/availability';
export {
  FeatureStore,
  openFeatureStore,
  type FeatureStoreOptions,
  type IngestOptions,
} from './store/feature-store';
export type * from './store/inputs';
export { DEFAULT_PROFILE, NO_TIME, type DatasetProfile, type FeedbackKind } from './store/dataset-profile';
export type {
  CacheOptions,
  ItemInteraction,
  ItemInteractionsOptions,
  ItemsWatermark,
  UserWatermark,
} from './store/online';
export { Snapshot, type TaskOptions, type UserInteractions } from './store/snapshot';
export { FeatureSpecs, type FeatureSpecVersionRecord } from './store/feature-specs';
export * from './importers/report';
export {
  importMovieLens100k,
  importMovieLens1m,
  parseMovieLens100k,
  parseMovieLens1m,
  type MovieLensData,
} from './importers/movielens';
export {
  generateSynthetic,
  importSynthetic,
  type SyntheticData,
  type SyntheticOptions,
} from './importers/synthetic';
export {
  importGeneric,
  type DeclaredFieldType,
  type EntityFileSpec,
  type GenericImportSpec,
  type InteractionFileSpec,
} from './importers/generic';
export type { TableFormat } from './importers/records';
