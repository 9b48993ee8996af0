import { LRUCache } from 'lru-cache';
import type { AdaptedUser } from '../ports/model-runtime.port';
import type { ModelRef } from '../ports/types';
import { Shared } from './shared';

export interface AdaptedKey {
  model: ModelRef;
  userId: string;
  /** The user's interaction watermark: a new interaction makes a new key. */
  watermark: string;
}

const keyOf = (k: AdaptedKey) => `${k.model.modelId}@${k.model.version}\u0000${k.userId}\u0000${k.watermark}`;

/** Default of the byte bound: 256 MiB of adapted tensors. */
export const DEFAULT_CACHE_BYTES = 256 * 1024 * 1024;

/**
 * Bounded LRU of adapted per-user state keyed by model version, user and watermark (the user's
 * interactions and stored features). Bounded twice: by entries (`maxEntries`) and by the bytes of
 * tensors the entries keep alive (`maxBytes`). An entry owns only its user's slice of the
 * adaptation batch (`AdaptedUser.detach`), so its size is what evicting it frees; an entry
 * larger than the whole bound is not kept. Values are reference counted: `get` hands out a
 * retained reference the caller must release.
 */
export class AdaptedCache {
  private readonly lru: LRUCache<string, Shared<AdaptedUser>> | undefined;
  private readonly keysByUser = new Map<string, Set<string>>();
  private hitCount = 0;
  private missCount = 0;

  constructor(
    maxEntries: number,
    private readonly maxBytes = DEFAULT_CACHE_BYTES,
  ) {
    this.lru =
      maxEntries > 0 && maxBytes > 0
        ? new LRUCache<string, Shared<AdaptedUser>>({
            max: maxEntries,
            maxSize: maxBytes,
            sizeCalculation: (value) => Math.max(1, value.value.bytes),
            dispose: (value, key) => {
              this.unindex(key);
              value.release();
            },
          })
        : undefined;
  }

  get enabled(): boolean {
    return this.lru !== undefined;
  }

  get size(): number {
    return this.lru?.size ?? 0;
  }

  /** Bytes of tensors the entries keep alive. */
  get bytes(): number {
    return this.lru?.calculatedSize ?? 0;
  }

  get hits(): number {
    return this.hitCount;
  }

  get misses(): number {
    return this.missCount;
  }

  /** A retained reference, or undefined (counted as a miss). */
  get(key: AdaptedKey): Shared<AdaptedUser> | undefined {
    const found = this.lru?.get(keyOf(key));
    if (found === undefined || found.disposed) {
      this.missCount += 1;
      return undefined;
    }
    this.hitCount += 1;
    return found.retain();
  }

  /**
   * Stores a value; the cache keeps its own reference to the user's own slice (a copy when the
   * value still shares its adaptation batch: the caller's reference is unaffected).
   */
  set(key: AdaptedKey, value: Shared<AdaptedUser>): void {
    if (this.lru === undefined) return;
    const k = keyOf(key);
    const own = value.value.detach();
    const entry = own === value.value ? value.retain() : new Shared(own);
    if (Math.max(1, own.bytes) > this.maxBytes) {
      entry.release();
      return;
    }
    this.lru.set(k, entry);
    let keys = this.keysByUser.get(key.userId);
    if (keys === undefined) this.keysByUser.set(key.userId, (keys = new Set()));
    keys.add(k);
  }

  /** Drops every cached state of a user (called when the user's interactions change). */
  invalidateUser(userId: string): void {
    for (const k of [...(this.keysByUser.get(userId) ?? [])]) this.lru?.delete(k);
  }

  /** Drops entries of every model except `keep` (after a hot swap). */
  retainOnly(keep: ModelRef): void {
    const prefix = `${keep.modelId}@${keep.version}\u0000`;
    for (const k of [...(this.lru?.keys() ?? [])]) if (!k.startsWith(prefix)) this.lru?.delete(k);
  }

  clear(): void {
    this.lru?.clear();
  }

  private unindex(k: string): void {
    const userId = k.split('\u0000')[1] ?? '';
    const keys = this.keysByUser.get(userId);
    keys?.delete(k);
    if (keys?.size === 0) this.keysByUser.delete(userId);
  }
}
