import { Controller } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type {
  FeatureStoreServiceServer,
  GetItemsRequest,
  GetItemsResponse,
  GetUsersRequest,
  GetUsersResponse,
  IngestInteractionsRequest,
  IngestInteractionsResponse,
  ListNewItemsRequest,
  ListNewItemsResponse,
  UpsertItemsRequest,
  UpsertItemsResponse,
  UpsertUsersRequest,
  UpsertUsersResponse,
} from '@warmstart/contracts';
import { toProtoItem, toProtoUser } from '../grpc/mappers';
import { ReplyBudget } from '../grpc/reply-budget';
import type { FeatureRecord } from '../ports/types';
import type { UnaryController } from '@warmstart/contracts';
import { ServingContext } from '../serving-context';
import { requireTimestamp } from '../validation/fields';
import {
  parseIds,
  parseIngestInteractions,
  parsePage,
  parseUpsertItems,
  parseUpsertUsers,
} from '../validation/feature-store.requests';

const SERVICE = 'FeatureStoreService';

@Controller()
export class FeatureStoreController implements UnaryController<FeatureStoreServiceServer> {
  constructor(private readonly ctx: ServingContext) {}

  @GrpcMethod(SERVICE, 'upsertUsers')
  async upsertUsers(request: UpsertUsersRequest): Promise<UpsertUsersResponse> {
    const users = parseUpsertUsers(request, this.ctx.config.maxBatchRows);
    const upsertedCount = await this.ctx.store.upsertUsers(users);
    // Stored features feed adaptation: cached states of these users are stale now.
    for (const u of users) this.ctx.cache.invalidateUser(u.id);
    return { upsertedCount };
  }

  @GrpcMethod(SERVICE, 'upsertItems')
  async upsertItems(request: UpsertItemsRequest): Promise<UpsertItemsResponse> {
    const items = parseUpsertItems(request, this.ctx.config.maxBatchRows);
    try {
      return { upsertedCount: await this.ctx.store.upsertItems(items) };
    } finally {
      // Even a failed write may race with readers; reading the changes is always safe.
      this.ctx.catalog.itemsWritten();
    }
  }

  @GrpcMethod(SERVICE, 'ingestInteractions')
  async ingestInteractions(request: IngestInteractionsRequest): Promise<IngestInteractionsResponse> {
    const rows = parseIngestInteractions(request, this.ctx.config.maxInteractionRows);
    const result = await this.ctx.store.ingestInteractions(rows);
    for (const userId of new Set(rows.map((r) => r.userId))) this.ctx.cache.invalidateUser(userId);
    // New items among them warm up before the next request is scored.
    this.ctx.catalog.interactionsIngested();
    return { ingestedCount: result.ingested, duplicateCount: result.duplicates };
  }

  // Get*: an id asked for several times is answered once (first position); the reply's size is
  // added up before it is built and refused beyond --max-message-bytes.
  @GrpcMethod(SERVICE, 'getUsers')
  async getUsers(request: GetUsersRequest): Promise<GetUsersResponse> {
    const ids = unique(parseIds(request.ids, this.ctx.config.maxBatchRows));
    const found = await this.ctx.store.getUsers(ids);
    const users = this.withinBudget(ids, found, 'ask for fewer ids');
    return { users: users.map(toProtoUser), missingIds: ids.filter((id) => !found.has(id)) };
  }

  @GrpcMethod(SERVICE, 'getItems')
  async getItems(request: GetItemsRequest): Promise<GetItemsResponse> {
    const ids = unique(parseIds(request.ids, this.ctx.config.maxBatchRows));
    const found = await this.ctx.store.getItems(ids);
    const items = this.withinBudget(ids, found, 'ask for fewer ids');
    return { items: items.map(toProtoItem), missingIds: ids.filter((id) => !found.has(id)) };
  }

  @GrpcMethod(SERVICE, 'listNewItems')
  async listNewItems(request: ListNewItemsRequest): Promise<ListNewItemsResponse> {
    const since = requireTimestamp(request.since, 'since');
    const page = await this.ctx.store.newItemsSince(since, parsePage(request.page));
    const budget = new ReplyBudget(this.ctx.config.maxMessageBytes, 'ask for a smaller page.page_size');
    for (const item of page.items) budget.add(item);
    return { items: page.items.map(toProtoItem), nextPageToken: page.nextCursor ?? '' };
  }

  private withinBudget<T extends { id: string; features: FeatureRecord }>(
    ids: readonly string[],
    found: ReadonlyMap<string, T>,
    hint: string,
  ): T[] {
    const budget = new ReplyBudget(this.ctx.config.maxMessageBytes, hint);
    const out: T[] = [];
    for (const id of ids) {
      const entity = found.get(id);
      if (!entity) continue;
      budget.add(entity);
      out.push(entity);
    }
    return out;
  }
}

const unique = (ids: string[]): string[] => [...new Set(ids)];
