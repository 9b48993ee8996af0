import type { FeatureStore, Page } from '@warmstart/feature-store';
import type { ModelVersionRecord as StoreModelVersion } from '@warmstart/feature-store/registry';
import type {
  InteractionInput,
  ItemInput,
  ItemInteraction,
  ItemVersion,
  ModelStatus,
  ModelVersionRecord,
  PageQuery,
  PageResult,
  PromotionResult,
  RegistryPort,
  ScenarioMetrics,
  StorePort,
  StoredItem,
  StoredUser,
} from '../ports/store.port';
import type { Rating, UserRecord } from '../ports/types';

/** The store caps history reads at 10,000 rows. */
const MAX_HISTORY = 10_000;

const pageOf = <T>(p: Page<T>): PageResult<T> =>
  p.nextCursor ? { items: p.items, nextCursor: p.nextCursor } : { items: p.items };

function metricsOf(m: Record<string, Record<string, number>>): Record<string, ScenarioMetrics> {
  const out: Record<string, ScenarioMetrics> = {};
  for (const [scenario, v] of Object.entries(m))
    out[scenario] = { mae: v['mae'] ?? 0, rmse: v['rmse'] ?? 0, ndcg3: v['ndcg3'] ?? 0, p5: v['p5'] ?? 0 };
  return out;
}

function toModel(r: StoreModelVersion): ModelVersionRecord {
  const out: ModelVersionRecord = {
    modelId: r.modelId,
    version: r.version,
    status: r.status,
    algorithm: r.algorithm,
    artifactUri: r.artifactUri,
    metrics: metricsOf(r.metrics),
    createdAt: r.createdAt,
  };
  if (r.dataWatermark) out.dataWatermark = r.dataWatermark;
  if (r.promotedAt) out.promotedAt = r.promotedAt;
  if (r.runId) out.runId = r.runId;
  return out;
}

class RegistryAdapter implements RegistryPort {
  constructor(private readonly store: FeatureStore) {}

  async listModels(query: PageQuery & { status?: ModelStatus }): Promise<PageResult<ModelVersionRecord>> {
    const page = await this.store.registry.listModels({
      limit: query.pageSize,
      cursor: query.cursor ?? null,
      ...(query.status ? { status: query.status } : {}),
    });
    return { ...pageOf(page), items: page.items.map(toModel) };
  }

  async getModel(modelId: string): Promise<ModelVersionRecord | undefined> {
    const r = await this.store.registry.getModel(modelId);
    return r ? toModel(r) : undefined;
  }

  async getPromoted(): Promise<ModelVersionRecord | undefined> {
    const r = await this.store.registry.getPromoted();
    return r ? toModel(r) : undefined;
  }

  async promote(modelId: string): Promise<PromotionResult> {
    const before = await this.store.registry.getPromoted();
    const model = toModel(await this.store.registry.promote(modelId));
    return this.withPrevious(model, before);
  }

  async rollback(): Promise<PromotionResult> {
    const before = await this.store.registry.getPromoted();
    const model = toModel(await this.store.registry.rollback());
    return this.withPrevious(model, before);
  }

  /** The previously promoted version, as it reads now (retired). */
  private async withPrevious(
    model: ModelVersionRecord,
    before: StoreModelVersion | null,
  ): Promise<PromotionResult> {
    if (!before || before.modelId === model.modelId) return { model };
    const now = await this.store.registry.getModel(before.modelId);
    return { model, previous: toModel(now ?? before) };
  }
}

/**
 * The StorePort over @warmstart/feature-store (SQLite or PostgreSQL). The store owns its read
 * cache: its own writes invalidate it, and a user watermark read from the database that moved
 * (another replica's write) drops the user's cached reads, so they are seen at once.
 */
export class FeatureStoreAdapter implements StorePort {
  readonly registry: RegistryPort;
  constructor(readonly store: FeatureStore) {
    this.registry = new RegistryAdapter(store);
  }

  getUsers(ids: readonly string[]): Promise<Map<string, StoredUser>> {
    return this.store.getUsers(ids);
  }

  getItems(ids: readonly string[]): Promise<Map<string, StoredItem>> {
    return this.store.getItems(ids);
  }

  recentInteractions(userId: string, limit: number): Promise<Rating[]> {
    return this.store.recentInteractions(userId, Math.min(limit, MAX_HISTORY));
  }

  async userWatermark(userId: string): Promise<string> {
    // Interactions (highest sequence, count) and the user row's last write (features), uncached;
    // the store drops its cached reads of a user whose watermark moved (reads after it are fresh).
    const w = await this.store.userWatermark(userId);
    return `${w.sequence}.${w.count}.${w.featuresUpdatedAt?.getTime() ?? 0}`;
  }

  async itemsWatermark(): Promise<string> {
    const w = await this.store.itemsWatermark();
    return `${w.count}.${w.latestUpdate?.getTime() ?? 0}.${w.pending}`;
  }

  interactionSequence(): Promise<number> {
    return this.store.interactionSequence();
  }

  itemInteractions(
    itemIds: readonly string[],
    options: { perItem: number; afterSequence?: number },
  ): Promise<Map<string, ItemInteraction[]>> {
    return this.store.itemInteractions(itemIds, options);
  }

  forgetItems(ids: readonly string[]): void {
    if (ids.length > 0) this.store.invalidateItems(ids);
  }

  async newItemsSince(since: Date, page: PageQuery): Promise<PageResult<StoredItem>> {
    return pageOf(
      await this.store.newItemsSince(since, { limit: page.pageSize, cursor: page.cursor ?? null }),
    );
  }

  async itemVersionsSince(since: Date, page: PageQuery): Promise<PageResult<ItemVersion>> {
    return pageOf(
      await this.store.itemVersionsSince(since, { limit: page.pageSize, cursor: page.cursor ?? null }),
    );
  }

  async activeItems(page: PageQuery): Promise<PageResult<StoredItem>> {
    return pageOf(await this.store.activeItems({ limit: page.pageSize, cursor: page.cursor ?? null }));
  }

  upsertUsers(users: UserRecord[]): Promise<number> {
    return this.store.upsertUsers(users);
  }

  upsertItems(items: ItemInput[]): Promise<number> {
    return this.store.upsertItems(items);
  }

  ingestInteractions(rows: InteractionInput[]): Promise<{ ingested: number; duplicates: number }> {
    return this.store.ingestInteractions(rows);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
