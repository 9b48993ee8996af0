import type { ItemRecord, UserRecord } from '../types';

/** Lifecycle status of an item: active items are recommendable, retired ones are kept for history. */
export type ItemStatus = 'active' | 'retired';
/** Kind of an interaction value: a rating in the store's range, or implicit 0/1 feedback. */
export type InteractionKind = 'rating' | 'implicit';

/** An item to upsert: `availableAt` defaults to the upsert time, `status` to `active` (both kept on re-upsert when omitted). */
export interface ItemRecordInput extends ItemRecord {
  status?: ItemStatus;
}

/** One interaction to ingest; `eventId` is the idempotency key. */
export interface InteractionInput {
  eventId: string;
  userId: string;
  itemId: string;
  value: number;
  /** Default `rating`. */
  kind?: InteractionKind;
  eventTime: Date;
}

/** A user as stored. */
export interface StoredUser extends UserRecord {
  createdAt: Date;
  updatedAt: Date;
}

/** An item as stored. */
export interface StoredItem extends ItemRecord {
  availableAt: Date;
  status: ItemStatus;
  createdAt: Date;
  updatedAt: Date;
}

/** An item's version and status, without its features (`itemVersionsSince`). */
export interface ItemVersion {
  id: string;
  updatedAt: Date;
  status: ItemStatus;
}

/** Result of `ingestInteractions`. */
export interface IngestResult {
  /** Newly written interactions. */
  ingested: number;
  /** Interactions whose event id was already stored (not written again). */
  duplicates: number;
}

/** A page request: at most `limit` rows (default 100, at most 1000) after `cursor`. */
export interface PageRequest {
  limit?: number;
  cursor?: string | null;
}

/** A page of items as of a time: `asOf` (default now) hides items whose `availableAt` is later. */
export interface ItemPageRequest extends PageRequest {
  asOf?: Date;
}

/** One page and the cursor of the next one (null at the end). */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
