import type { RecommendRequest, ScoreRequest, UserContext } from '@warmstart/contracts';
import { InvalidInput } from '../domain/errors';
import type { FeatureRecord, Rating } from '../ports/types';
import {
  MAX_ID_LENGTH,
  checkListSize,
  optionalTimestamp,
  requireFinite,
  requireId,
  requireTimestamp,
  toFeatureRecord,
} from './fields';

export interface RecommendLimits {
  maxK: number;
  maxCandidates: number;
  maxInlineSupport: number;
}

export interface ParsedUser {
  userId?: string;
  features: FeatureRecord;
  /** Inline support interactions, in request order. */
  support: Rating[];
}

/**
 * Where Recommend's candidates come from. An explicit list may carry `key`, the decoder's key of
 * the bytes it was decoded from (grpc/recommend-decoding.ts): the catalog's fingerprint for it.
 */
export type CandidateSource =
  { kind: 'ids'; ids: string[]; key?: string } | { kind: 'since'; since: Date } | { kind: 'allActive' };

export interface ParsedRecommend {
  user: ParsedUser;
  candidates: CandidateSource;
  k: number;
  includeSeen: boolean;
}

export function parseUserContext(user: UserContext | undefined, limits: RecommendLimits): ParsedUser {
  if (user === undefined) throw new InvalidInput('user', 'is required');
  checkListSize(user.support, limits.maxInlineSupport, 'user.support');
  const features = toFeatureRecord(user.features, 'user.features');
  const support = user.support.map((s, i): Rating => {
    const rating: Rating = {
      itemId: requireId(s.itemId, `user.support[${i}].item_id`),
      value: requireFinite(s.value, `user.support[${i}].value`),
    };
    const time = optionalTimestamp(s.eventTime, `user.support[${i}].event_time`);
    if (time) rating.time = time;
    return rating;
  });
  const parsed: ParsedUser = { features, support };
  if (user.userId.length > 0) parsed.userId = requireId(user.userId, 'user.user_id');
  else if (support.length === 0 && Object.keys(features).length === 0)
    throw new InvalidInput('user.user_id', 'must not be empty unless inline features or support are given');
  return parsed;
}

/** Validates every id; returns the decoded list itself (no copy: candidate lists are long). */
function parseIdList(ids: string[], max: number, field: string): string[] {
  checkListSize(ids, max, field, 1);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as string;
    // The field path is only built for a bad id.
    if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH)
      requireId(id, `${field}[${i}]`);
  }
  return ids;
}

/** `candidatesKey`: the decoder's key of the candidate list's bytes, when it decoded one. */
export function parseRecommend(
  req: RecommendRequest & { candidatesKey?: string },
  limits: RecommendLimits,
): ParsedRecommend {
  const user = parseUserContext(req.user, limits);
  if (!Number.isInteger(req.k) || req.k < 1 || req.k > limits.maxK)
    throw new InvalidInput('k', `must be between 1 and ${limits.maxK} (got ${req.k})`);
  const source = req.candidates?.source;
  let candidates: CandidateSource;
  if (source === undefined || source.$case === 'allActive') candidates = { kind: 'allActive' };
  else if (source.$case === 'itemIds')
    candidates = {
      kind: 'ids',
      ids: parseIdList(source.value.ids, limits.maxCandidates, 'candidates.item_ids.ids'),
      ...(req.candidatesKey !== undefined && { key: req.candidatesKey }),
    };
  else candidates = { kind: 'since', since: requireTimestamp(source.value, 'candidates.available_since') };
  return { user, candidates, k: req.k, includeSeen: req.includeSeen };
}

export function parseScore(
  req: ScoreRequest,
  limits: RecommendLimits,
): { user: ParsedUser; itemIds: string[] } {
  return {
    user: parseUserContext(req.user, limits),
    itemIds: parseIdList(req.itemIds, limits.maxCandidates, 'item_ids'),
  };
}
