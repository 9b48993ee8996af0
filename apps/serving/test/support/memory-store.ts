import type {
  InteractionInput,
  ItemInput,
  ModelStatus,
  ModelVersionRecord,
  PageQuery,
  PageResult,
  PromotionResult,
  RegistryPort,
  StorePort,
  StoredItem,
  StoredUser,
} from '../../src/ports/store.port';
import type { Rating, UserRecord } from '../../src/ports/types';

function page<T>(all: T[], query: PageQuery): PageResult<T> {
  const start = query.cursor ? Number(query.cursor) : 0;
  const items = all.slice(start, start + query.pageSize);
  const next = start + query.pageSize;
  return next < all.length ? { items, nextCursor: String(next) } : { items };
}

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** An in-memory registry with promote/rollback history (test stand-in for the feature store's). */
export class MemoryRegistry implements RegistryPort {
  readonly models = new Map<string, ModelVersionRecord>();
  private history: string[] = [];

  register(
    record: Omit<ModelVersionRecord, 'status' | 'version' | 'metrics'> & Partial<ModelVersionRecord>,
  ): ModelVersionRecord {
    const full: ModelVersionRecord = {
      status: 'candidate',
      version: this.models.size + 1,
      metrics: {},
      createdAt: new Date(),
      ...record,
    };
    this.models.set(full.modelId, full);
    return full;
  }

  async listModels(query: PageQuery & { status?: ModelStatus }): Promise<PageResult<ModelVersionRecord>> {
    const all = [...this.models.values()]
      .filter((m) => query.status === undefined || m.status === query.status)
      .sort((a, b) => b.version - a.version);
    return page(all, query);
  }

  async getModel(modelId: string): Promise<ModelVersionRecord | undefined> {
    return this.models.get(modelId);
  }

  async promote(modelId: string): Promise<PromotionResult> {
    const model = this.models.get(modelId);
    if (!model) throw new NamedError('NotFoundError', `model ${modelId} not found`);
    const previous = await this.getPromoted();
    if (previous && previous.modelId !== modelId) previous.status = 'retired';
    model.status = 'promoted';
    model.promotedAt = new Date();
    this.history.push(modelId);
    return previous ? { model, previous } : { model };
  }

  async rollback(): Promise<PromotionResult> {
    if (this.history.length < 2)
      throw new NamedError('FailedPreconditionError', 'no earlier promoted version');
    const current = this.models.get(this.history.pop() as string) as ModelVersionRecord;
    const target = this.models.get(this.history[this.history.length - 1] as string) as ModelVersionRecord;
    current.status = 'retired';
    target.status = 'promoted';
    return { model: target, previous: current };
  }

  async getPromoted(): Promise<ModelVersionRecord | undefined> {
    return [...this.models.values()].find((m) => m.status === 'promoted');
  }
}

/** An in-memory StorePort: idempotent ingestion by event id, a per-user watermark, paging. */
export class MemoryStore implements StorePort {
  readonly registry = new MemoryRegistry();
  readonly users = new Map<string, StoredUser>();
  readonly items = new Map<string, StoredItem>();
  private readonly events = new Map<string, InteractionInput>();
  private readonly byUser = new Map<string, InteractionInput[]>();
  private seq = 0;
  private readonly marks = new Map<string, number>();
  closed = false;

  async getUsers(ids: readonly string[]): Promise<Map<string, StoredUser>> {
    return new Map(
      ids.filter((id) => this.users.has(id)).map((id) => [id, this.users.get(id) as StoredUser]),
    );
  }

  async getItems(ids: readonly string[]): Promise<Map<string, StoredItem>> {
    return new Map(
      ids.filter((id) => this.items.has(id)).map((id) => [id, this.items.get(id) as StoredItem]),
    );
  }

  async recentInteractions(userId: string, limit: number): Promise<Rating[]> {
    return [...(this.byUser.get(userId) ?? [])]
      .sort((a, b) => b.eventTime.getTime() - a.eventTime.getTime())
      .slice(0, limit)
      .map((r) => ({ itemId: r.itemId, value: r.value, time: r.eventTime }));
  }

  async userWatermark(userId: string): Promise<string> {
    return String(this.marks.get(userId) ?? 0);
  }

  async newItemsSince(since: Date, query: PageQuery): Promise<PageResult<StoredItem>> {
    const all = [...this.items.values()]
      .filter((i) => i.status === 'active' && (i.availableAt?.getTime() ?? 0) >= since.getTime())
      .sort((a, b) => (a.availableAt?.getTime() ?? 0) - (b.availableAt?.getTime() ?? 0));
    return page(all, query);
  }

  async activeItems(query: PageQuery): Promise<PageResult<StoredItem>> {
    return page(
      [...this.items.values()].filter((i) => i.status === 'active'),
      query,
    );
  }

  async upsertUsers(users: UserRecord[]): Promise<number> {
    const now = new Date();
    for (const u of users)
      this.users.set(u.id, { ...u, createdAt: this.users.get(u.id)?.createdAt ?? now, updatedAt: now });
    return users.length;
  }

  async upsertItems(items: ItemInput[]): Promise<number> {
    const now = new Date();
    for (const i of items)
      this.items.set(i.id, {
        id: i.id,
        features: i.features,
        availableAt: i.availableAt ?? now,
        status: i.status ?? 'active',
        createdAt: this.items.get(i.id)?.createdAt ?? now,
        updatedAt: now,
      });
    return items.length;
  }

  async ingestInteractions(rows: InteractionInput[]): Promise<{ ingested: number; duplicates: number }> {
    let ingested = 0;
    for (const r of rows) {
      if (this.events.has(r.eventId)) continue;
      this.events.set(r.eventId, r);
      const list = this.byUser.get(r.userId) ?? [];
      list.push(r);
      this.byUser.set(r.userId, list);
      this.marks.set(r.userId, ++this.seq);
      ingested++;
    }
    return { ingested, duplicates: rows.length - ingested };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
