/**
 * Item warm-up checks shared by the in-process and the built-server tests: a new user's request,
 * and what core computes for it on the new items i35 and i36 from the store's interactions.
 */
import { RecommenderServiceClient, type ScoreResponse } from '@warmstart/contracts';
import { adapt, score, warmUpItems, type RecommenderModel } from '@warmstart/core';
import type { FeatureStore } from '@warmstart/feature-store';
import { call } from './harness';
import { ITEMS, USERS } from './world';

export const FEATURES = { gender: 'F', age: 33 };
export const SUPPORT = [{ itemId: 'i3', value: 5 }];
export const user = {
  userId: '',
  features: {
    gender: { kind: { $case: 'categorical', value: FEATURES.gender } },
    age: { kind: { $case: 'numeric', value: FEATURES.age } },
  },
  support: SUPPORT,
};
export const NEW = ['i35', 'i36'];

/** The request user's scores on `itemIds` (default: the new items) from a server. */
export const scores = async (
  h: { recommender: RecommenderServiceClient },
  itemIds = NEW,
): Promise<number[]> => {
  const res = await call<unknown, ScoreResponse>(
    h.recommender,
    RecommenderServiceClient.prototype.score as never,
    { user, itemIds },
  );
  return res.items.map((i) => i.score);
};

/**
 * What core gives the request's user on the new items: content only (`warm` false), or with the
 * rows warmed on their recent interactions in the store (the seeded world has a few already).
 */
export async function expected(model: RecommenderModel, store: FeatureStore, warm = true): Promise<number[]> {
  const catalog = new Map(ITEMS.map((i) => [i.id, i]));
  const found = await store.itemInteractions(NEW, { perItem: 50 });
  const users = new Map(USERS.map((u) => [u.id, u]));
  const warmItems = warm
    ? warmUpItems(
        model,
        [...found].map(([id, list]) => ({
          item: catalog.get(id)!,
          interactions: list.map((r) => ({ user: users.get(r.userId)!, value: r.value })),
        })),
      )
    : undefined;
  const adapted = adapt(model, [{ user: { id: '', features: FEATURES }, support: SUPPORT }], catalog, {
    ...(warmItems && { warmItems }),
  });
  const encoded = model.encodeItems(
    NEW.map((id) => catalog.get(id)!),
    warmItems ? { warmItems } : {},
  );
  const out = [...score(adapted, 0, encoded)];
  encoded.dispose();
  adapted.dispose();
  model.dispose();
  return out;
}

/** Polls `check` until it holds (every 50 ms, up to `timeoutMs`); returns whether it did. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - (b[i] as number)) < 1e-4);
