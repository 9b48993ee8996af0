import {
  InteractionKind as ProtoInteractionKind,
  ItemStatus as ProtoItemStatus,
  type IngestInteractionsRequest,
  type PageRequest,
  type UpsertItemsRequest,
  type UpsertUsersRequest,
} from '@warmstart/contracts';
import { InvalidInput } from '../domain/errors';
import type { InteractionInput, ItemInput, PageQuery } from '../ports/store.port';
import type { UserRecord } from '../ports/types';
import {
  checkListSize,
  optionalTimestamp,
  requireFinite,
  requireId,
  requireTimestamp,
  toFeatureRecord,
} from './fields';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

export function parseUpsertUsers(req: UpsertUsersRequest, maxRows: number): UserRecord[] {
  checkListSize(req.users, maxRows, 'users', 1);
  const seen = new Set<string>();
  return req.users.map((u, i) => {
    const id = requireId(u.id, `users[${i}].id`);
    if (seen.has(id)) throw new InvalidInput(`users[${i}].id`, `duplicates user "${id}" in the same request`);
    seen.add(id);
    return { id, features: toFeatureRecord(u.features, `users[${i}].features`) };
  });
}

export function parseUpsertItems(req: UpsertItemsRequest, maxRows: number): ItemInput[] {
  checkListSize(req.items, maxRows, 'items', 1);
  const seen = new Set<string>();
  return req.items.map((it, i) => {
    const id = requireId(it.id, `items[${i}].id`);
    if (seen.has(id)) throw new InvalidInput(`items[${i}].id`, `duplicates item "${id}" in the same request`);
    seen.add(id);
    const item: ItemInput = { id, features: toFeatureRecord(it.features, `items[${i}].features`) };
    const availableAt = optionalTimestamp(it.availableAt, `items[${i}].available_at`);
    if (availableAt) item.availableAt = availableAt;
    if (it.status === ProtoItemStatus.ITEM_STATUS_RETIRED) item.status = 'retired';
    else if (
      it.status === ProtoItemStatus.ITEM_STATUS_ACTIVE ||
      it.status === ProtoItemStatus.ITEM_STATUS_UNSPECIFIED
    )
      item.status = 'active';
    else throw new InvalidInput(`items[${i}].status`, `unknown status ${it.status}`);
    return item;
  });
}

export function parseIngestInteractions(req: IngestInteractionsRequest, maxRows: number): InteractionInput[] {
  checkListSize(req.interactions, maxRows, 'interactions', 1);
  return req.interactions.map((r, i) => {
    const f = `interactions[${i}]`;
    let kind: InteractionInput['kind'];
    if (r.kind === ProtoInteractionKind.INTERACTION_KIND_RATING) kind = 'rating';
    else if (r.kind === ProtoInteractionKind.INTERACTION_KIND_IMPLICIT) kind = 'implicit';
    else throw new InvalidInput(`${f}.kind`, 'must be INTERACTION_KIND_RATING or INTERACTION_KIND_IMPLICIT');
    const value = requireFinite(r.value, `${f}.value`);
    if (kind === 'implicit' && value !== 0 && value !== 1)
      throw new InvalidInput(`${f}.value`, `implicit feedback must be 0 or 1 (got ${value})`);
    return {
      eventId: requireId(r.eventId, `${f}.event_id`),
      userId: requireId(r.userId, `${f}.user_id`),
      itemId: requireId(r.itemId, `${f}.item_id`),
      value,
      kind,
      eventTime: requireTimestamp(r.eventTime, `${f}.event_time`),
    };
  });
}

export function parseIds(ids: readonly string[], maxRows: number, field = 'ids'): string[] {
  checkListSize(ids, maxRows, field, 1);
  return ids.map((id, i) => requireId(id, `${field}[${i}]`));
}

export function parsePage(page: PageRequest | undefined, field = 'page'): PageQuery {
  const size = page?.pageSize ?? 0;
  if (size < 0 || size > MAX_PAGE_SIZE)
    throw new InvalidInput(`${field}.page_size`, `must be between 0 and ${MAX_PAGE_SIZE} (got ${size})`);
  const query: PageQuery = { pageSize: size === 0 ? DEFAULT_PAGE_SIZE : size };
  if (page?.pageToken) query.cursor = page.pageToken;
  return query;
}
