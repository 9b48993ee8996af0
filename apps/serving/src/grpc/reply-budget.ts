import type { FeatureRecord } from '../ports/types';
import { resourceExhausted } from './errors';

/** Protobuf framing, timestamps and enums of one user or item, bytes (an over-estimate). */
const ENTITY_OVERHEAD = 64;
/** Framing of one map entry and its value, bytes. */
const FEATURE_OVERHEAD = 16;

/** About the encoded size of an entity's features in a reply, without encoding them. */
export function featureBytes(features: FeatureRecord): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(features)) {
    bytes += FEATURE_OVERHEAD + Buffer.byteLength(name);
    if (typeof value === 'string') bytes += Buffer.byteLength(value);
    else if (Array.isArray(value)) for (const v of value) bytes += 2 + Buffer.byteLength(String(v));
    else bytes += 8;
  }
  return bytes;
}

/**
 * Adds up a reply's size entity by entity before the reply is built, and refuses it
 * (RESOURCE_EXHAUSTED) as soon as it would pass the send limit: a reply grpc-js would refuse
 * anyway is never built.
 */
export class ReplyBudget {
  private used = 0;

  constructor(
    private readonly limit: number,
    private readonly hint: string,
  ) {}

  add(entity: { id: string; features: FeatureRecord }): void {
    this.used += ENTITY_OVERHEAD + Buffer.byteLength(entity.id) + featureBytes(entity.features);
    if (this.used > this.limit)
      throw resourceExhausted(
        `the reply would pass --max-message-bytes (${this.limit} bytes) after ${this.used} bytes: ${this.hint}`,
      );
  }
}
