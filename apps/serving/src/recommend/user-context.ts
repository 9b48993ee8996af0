import { InvalidInput, NotFound } from '../domain/errors';
import type { ServingModel } from '../ports/model-runtime.port';
import type { StorePort } from '../ports/store.port';
import type { ItemRecord, Rating, UserRecord } from '../ports/types';
import type { ParsedUser } from '../validation/recommend.requests';

export interface ResolvedUser {
  user: UserRecord;
  support: Rating[];
  /** Items the user has interacted with (excluded from results unless include_seen). */
  seen: Set<string>;
  /** Set when the adapted state may be cached: a stored user without inline additions. */
  cacheWatermark?: string;
}

export interface UserContextLimits {
  supportLimit: number;
  seenLimit: number;
}

/**
 * Builds the adaptation input of a request: stored features overridden by inline ones, the
 * stored recent interactions plus inline support, and the "seen" set. Unknown inline support
 * items and out-of-range ratings are INVALID_ARGUMENT; an unknown user id without inline data is
 * NOT_FOUND.
 */
export async function resolveUser(
  parsed: ParsedUser,
  store: StorePort,
  model: ServingModel,
  limits: UserContextLimits,
): Promise<ResolvedUser> {
  checkSupportValues(parsed.support, model);
  let stored: UserRecord | undefined;
  let history: Rating[] = [];
  let watermark: string | undefined;
  if (parsed.userId !== undefined) {
    const id = parsed.userId;
    // The watermark is read BEFORE the features and the history: a write landing in between
    // then makes the state newer than its key (one needless re-adaptation later), never older
    // (a stale state served under the new watermark until the next write).
    watermark = await store.userWatermark(id);
    const [users, recent] = await Promise.all([
      store.getUsers([id]),
      store.recentInteractions(id, Math.max(limits.supportLimit, limits.seenLimit)),
    ]);
    stored = users.get(id);
    history = recent;
    const hasInline = parsed.support.length > 0 || Object.keys(parsed.features).length > 0;
    if (stored === undefined && history.length === 0 && !hasInline)
      throw new NotFound(
        `user "${id}" not found; send inline features or support interactions for a new user`,
      );
  }
  const support = [...history.slice(0, limits.supportLimit), ...parsed.support];
  const seen = new Set<string>([...history.map((r) => r.itemId), ...parsed.support.map((r) => r.itemId)]);
  const inline = parsed.support.length > 0 || Object.keys(parsed.features).length > 0;
  const resolved: ResolvedUser = {
    user: { id: parsed.userId ?? '', features: { ...(stored?.features ?? {}), ...parsed.features } },
    support,
    seen,
  };
  if (parsed.userId !== undefined && !inline && watermark !== undefined) resolved.cacheWatermark = watermark;
  return resolved;
}

function checkSupportValues(support: Rating[], model: ServingModel): void {
  const [low, high] = model.task === 'implicit' ? [0, 1] : model.ratingRange;
  support.forEach((r, i) => {
    if (r.value < low || r.value > high)
      throw new InvalidInput(`user.support[${i}].value`, `must be within [${low}, ${high}] (got ${r.value})`);
  });
}

/** Inline support items must exist; stored history items that vanished are dropped. */
export function supportCatalog(
  resolved: ResolvedUser,
  inlineSupport: Rating[],
  items: ReadonlyMap<string, ItemRecord>,
): Map<string, ItemRecord> {
  const unknown = inlineSupport.map((r, i) => [r.itemId, i] as const).filter(([id]) => !items.has(id));
  if (unknown.length > 0) {
    const [id, i] = unknown[0] as readonly [string, number];
    throw new InvalidInput(
      `user.support[${i}].item_id`,
      `unknown item "${id}"${unknown.length > 1 ? ` (and ${unknown.length - 1} more unknown)` : ''}`,
    );
  }
  resolved.support = resolved.support.filter((r) => items.has(r.itemId));
  const catalog = new Map<string, ItemRecord>();
  for (const r of resolved.support) catalog.set(r.itemId, items.get(r.itemId) as ItemRecord);
  return catalog;
}
