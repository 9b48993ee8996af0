import type { FeatureRecord, ItemRecord, Rating, UserRecord } from './types';

export type ItemStatus = 'active' | 'retired';
export type InteractionKind = 'rating' | 'implicit';
export type ModelStatus = 'candidate' | 'promoted' | 'retired';

export interface StoredUser extends UserRecord {
  createdAt?: Date;
  updatedAt?: Date;
}

export interface StoredItem extends ItemRecord {
  status: ItemStatus;
  createdAt?: Date;
  updatedAt?: Date;
}

export interface ItemVersion {
  id: string;
  updatedAt: Date;
  status: ItemStatus;
}

export interface ItemInput {
  id: string;
  features: FeatureRecord;
  availableAt?: Date;
  status?: ItemStatus;
}

export interface InteractionInput {
  eventId: string;
  userId: string;
  itemId: string;
  value: number;
  kind: InteractionKind;
  eventTime: Date;
}

/** One interaction on an item (item warm-up reads them). */
export interface ItemInteraction {
  userId: string;
  value: number;
  sequence: number;
}

export interface PageQuery {
  pageSize: number;
  cursor?: string;
}

export interface PageResult<T> {
  items: T[];
  /** Absent on the last page. */
  nextCursor?: string;
}

export interface ScenarioMetrics {
  mae: number;
  rmse: number;
  ndcg3: number;
  p5: number;
}

export interface ModelVersionRecord {
  modelId: string;
  version: number;
  status: ModelStatus;
  algorithm: string;
  /** Relative to the artifacts root (or absolute). */
  artifactUri: string;
  metrics: Record<string, ScenarioMetrics>;
  dataWatermark?: Date;
  createdAt?: Date;
  promotedAt?: Date;
  runId?: string;
}

export interface PromotionResult {
  model: ModelVersionRecord;
  previous?: ModelVersionRecord;
}

/** The model registry as the server uses it. */
export interface RegistryPort {
  listModels(query: PageQuery & { status?: ModelStatus }): Promise<PageResult<ModelVersionRecord>>;
  /** Undefined when absent. */
  getModel(modelId: string): Promise<ModelVersionRecord | undefined>;
  /** Throws an error named NotFoundError when the model does not exist. */
  promote(modelId: string): Promise<PromotionResult>;
  /** Throws an error named FailedPreconditionError when there is nothing to roll back to. */
  rollback(): Promise<PromotionResult>;
  getPromoted(): Promise<ModelVersionRecord | undefined>;
}

/**
 * The feature store as the server uses it (a port over @warmstart/feature-store). Writes are
 * one transaction per call and throw `ValidationError` (with `field`) on bad rows.
 */
export interface StorePort {
  readonly registry: RegistryPort;
  getUsers(ids: readonly string[]): Promise<Map<string, StoredUser>>;
  getItems(ids: readonly string[]): Promise<Map<string, StoredItem>>;
  /** Newest first. */
  recentInteractions(userId: string, limit: number): Promise<Rating[]>;
  /**
   * Changes whenever the user's interactions or stored features change, whoever wrote them (this
   * server, another replica, an import); part of the adapted-state cache key. Read from the
   * database, not from a cache, and reads made after it (getUsers, recentInteractions) are at
   * least as new as the watermark it returned.
   */
  userWatermark(userId: string): Promise<string>;
  /**
   * A cheap version of the item table: changes whenever an item is added, changed or retired
   * (by any writer of the database) and when an item's availableAt passes. Read from the
   * database; the active catalog compares it to decide whether to re-read all active items.
   */
  itemsWatermark(): Promise<string>;
  /**
   * The highest interaction sequence number in the database (0 when none), never cached: item
   * warm-up compares it to tell whether anything was ingested since its last look.
   */
  interactionSequence(): Promise<number>;
  /**
   * For the items of `itemIds` that have an interaction with a sequence number above
   * `afterSequence` (default 0): their `perItem` most recent interactions, newest first.
   */
  itemInteractions(
    itemIds: readonly string[],
    options: { perItem: number; afterSequence?: number },
  ): Promise<Map<string, ItemInteraction[]>>;
  /** Drops any cached copy of these items (they changed in the database). */
  forgetItems(ids: readonly string[]): void;
  /** Active items with availableAt >= since, oldest first. */
  newItemsSince(since: Date, page: PageQuery): Promise<PageResult<StoredItem>>;
  /**
   * Version (`updatedAt`) and status of the items of any status written at or after `since`,
   * oldest write first, from the database (no features).
   */
  itemVersionsSince(since: Date, page: PageQuery): Promise<PageResult<ItemVersion>>;
  activeItems(page: PageQuery): Promise<PageResult<StoredItem>>;
  upsertUsers(users: UserRecord[]): Promise<number>;
  upsertItems(items: ItemInput[]): Promise<number>;
  ingestInteractions(rows: InteractionInput[]): Promise<{ ingested: number; duplicates: number }>;
  close(): Promise<void>;
}
