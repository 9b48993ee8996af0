import type { ServiceDefinition } from '@grpc/grpc-js';
import {
  Candidates,
  RecommendRequest,
  RecommenderServiceService,
  SERVICE_NAMES,
  packageDefinition,
} from '@warmstart/contracts';
import { LRUCache } from 'lru-cache';

/** `candidates` fields shorter than this are decoded as usual (not worth remembering). */
const MIN_MEMO_BYTES = 256;
/** Slots of the interned-id table (a power of two; a direct-mapped cache: a collision replaces). */
const INTERNED_SLOTS = 1 << 17;

/**
 * A RecommendRequest deserializer that remembers decoded `candidates` fields by their bytes.
 * Clients typically send the same explicit candidate list again and again (a shortlist for a
 * surface); decoding 1,000 ids allocates 1,000 strings per request, which made protobuf decoding
 * and the garbage it leaves a large part of the server's CPU. Here the `candidates` field
 * (field 2) is cut out of the message, the rest is decoded by the generated decoder, and the
 * field itself is decoded by the generated `Candidates` decoder only when its bytes were not seen
 * recently (a hash finds the entry, a byte comparison confirms it; a field is remembered from its
 * second appearance on, so one-off lists cost no memory). The remembered value is
 * deep-frozen and shared between requests, so the same list is also the same array object.
 * Anything unusual (the field repeated, groups, malformed input) takes the generated decoder for
 * the whole message, so the result is always what `RecommendRequest.decode` gives.
 *
 * A list that is not remembered (every request its own candidates) is decoded here too when it
 * is a plain id list of ASCII ids: each id is looked up by a hash of its bytes in a bounded table
 * of ids decoded before and, when the bytes match, the same string is used again. A request's
 * 1,000 ids then allocate no strings (the decoded strings of in-flight requests were most of
 * what survived into the old generation and kept the garbage collector busy), and the strings,
 * whose hash V8 keeps, are looked up in the catalog's index faster. Other lists take the
 * generated `Candidates` decoder.
 */
/**
 * A decoded RecommendRequest plus, for an explicit id list decoded here, the key of the bytes it
 * was decoded from (their length and hash: equal bytes decode to equal lists). The controller
 * hands it to the catalog with the list, so a repeated list is recognised without hashing its
 * 1,000 id strings again; only a hint: the catalog compares the ids on a hit.
 */
export interface DecodedRecommendRequest extends RecommendRequest {
  candidatesKey?: string;
}

export class RecommendRequestDecoder {
  private readonly memo: LRUCache<string, { bytes: Buffer; value: Candidates }> | undefined;
  /**
   * Fingerprints of fields seen once: a field is remembered only when it comes again, so lists
   * that never repeat (each request its own candidates) are not kept: their decoded strings
   * would fill the heap for nothing.
   */
  private readonly seenOnce: LRUCache<string, true> | undefined;
  /**
   * Interned candidate ids, in the slot given by the FNV-1a hash of their bytes (direct-mapped:
   * another id with the same slot replaces it; a hit is always checked byte by byte).
   */
  private interned: (string | undefined)[] | undefined;

  /** @param maxBytes Bound of the remembered fields' bytes; 0 turns remembering off. */
  constructor(maxBytes: number) {
    this.memo =
      maxBytes > 0
        ? new LRUCache({ maxSize: maxBytes, sizeCalculation: (e) => Math.max(1, e.bytes.length) })
        : undefined;
    // A list comes back within 1,024 other lists or is not worth keeping (at 1,000 ids a list
    // is ~6 KB, so the default bound holds about that many).
    this.seenOnce = maxBytes > 0 ? new LRUCache({ max: 1024 }) : undefined;
  }

  decode(buf: Buffer): DecodedRecommendRequest {
    const field = this.memo ? candidatesField(buf) : undefined;
    if (!field || field.end - field.payload < MIN_MEMO_BYTES) return RecommendRequest.decode(buf);
    const rest = Buffer.concat([buf.subarray(0, field.start), buf.subarray(field.end)]);
    const request: DecodedRecommendRequest = RecommendRequest.decode(rest);
    const bytes = buf.subarray(field.payload, field.end);
    const key = `${bytes.length}:${fnv1a(bytes)}`;
    request.candidates = this.candidates(bytes, key);
    if (request.candidates.source?.$case === 'itemIds') request.candidatesKey = `bytes:${key}`;
    return request;
  }

  private candidates(bytes: Buffer, key: string): Candidates {
    const hit = this.memo?.get(key);
    if (hit && hit.bytes.equals(bytes)) return hit.value;
    if (!this.seenOnce?.has(key)) {
      this.seenOnce?.set(key, true);
      return this.decodeCandidates(bytes);
    }
    const value = deepFreeze(this.decodeCandidates(bytes));
    this.memo?.set(key, { bytes: Buffer.from(bytes), value });
    return value;
  }

  /**
   * `Candidates.decode(bytes)` for the usual form (only field 1, an ItemIdList holding only
   * field-1 strings, every byte ASCII) with interned ids; anything else takes the generated decoder.
   */
  private decodeCandidates(bytes: Buffer): Candidates {
    const ids = this.plainIdList(bytes);
    if (!ids) return Candidates.decode(bytes);
    return { source: { $case: 'itemIds', value: { ids } } };
  }

  private plainIdList(bytes: Buffer): string[] | undefined {
    if (bytes[0] !== 0x0a) return undefined;
    const len = varint(bytes, 1);
    if (!len || len.next + len.value !== bytes.length) return undefined;
    const ids: string[] = [];
    let pos = len.next;
    while (pos < bytes.length) {
      if (bytes[pos] !== 0x0a || pos + 1 >= bytes.length) return undefined;
      // The id's length: one varint byte for ids under 128 bytes.
      let start = pos + 2;
      let size = bytes[pos + 1] as number;
      if (size >= 0x80) {
        const n = varint(bytes, pos + 1);
        if (!n) return undefined;
        start = n.next;
        size = n.value;
      }
      const end = start + size;
      if (end > bytes.length) return undefined;
      let h = 0x811c9dc5;
      for (let i = start; i < end; i++) {
        const byte = bytes[i] as number;
        if (byte >= 0x80) return undefined; // UTF-8 decoding rules: the generated decoder's
        h = Math.imul(h ^ byte, 0x01000193);
      }
      const table = (this.interned ??= new Array<string | undefined>(INTERNED_SLOTS).fill(undefined));
      const slot = h & (INTERNED_SLOTS - 1);
      let id = table[slot];
      if (id === undefined || !sameAscii(id, bytes, start, end)) {
        id = bytes.toString('latin1', start, end);
        table[slot] = id;
      }
      ids.push(id);
      pos = end;
    }
    return ids;
  }
}

/** Whether the ASCII bytes [start, end) spell `id`. */
function sameAscii(id: string, bytes: Buffer, start: number, end: number): boolean {
  if (id.length !== end - start) return false;
  for (let i = 0; i < id.length; i++) if (id.charCodeAt(i) !== bytes[start + i]) return false;
  return true;
}

/**
 * The grpc-js package definition served: the generated one with Recommend's request
 * deserializer replaced by `decoder` (every other method and all serializers unchanged).
 */
export function servingPackageDefinition(
  decoder: RecommendRequestDecoder,
): Record<string, ServiceDefinition> {
  const service = RecommenderServiceService;
  return {
    ...packageDefinition,
    [SERVICE_NAMES.recommender]: {
      ...service,
      recommend: { ...service.recommend, requestDeserialize: (buf: Buffer) => decoder.decode(buf) },
    } as unknown as ServiceDefinition,
  };
}

/** Where the single top-level field 2 (length-delimited) is; undefined when absent, repeated or unusual. */
function candidatesField(buf: Buffer): { start: number; payload: number; end: number } | undefined {
  let pos = 0;
  let found: { start: number; payload: number; end: number } | undefined;
  while (pos < buf.length) {
    const start = pos;
    const tag = varint(buf, pos);
    if (!tag) return undefined;
    pos = tag.next;
    const fieldNo = Math.floor(tag.value / 8);
    const wireType = tag.value % 8;
    if (wireType === 0) {
      const v = varint(buf, pos);
      if (!v) return undefined;
      pos = v.next;
    } else if (wireType === 1) pos += 8;
    else if (wireType === 5) pos += 4;
    else if (wireType === 2) {
      const len = varint(buf, pos);
      if (!len) return undefined;
      const payload = len.next;
      pos = payload + len.value;
      if (pos > buf.length) return undefined;
      if (fieldNo === 2) {
        if (found) return undefined; // repeated: proto merge semantics, leave it to the decoder
        found = { start, payload, end: pos };
      }
    } else return undefined; // groups
    if (fieldNo === 2 && wireType !== 2) return undefined;
  }
  return pos === buf.length ? found : undefined;
}

/** A base-128 varint at `pos` (up to 2^53); undefined when truncated or too long. */
function varint(buf: Buffer, pos: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8 && pos + i < buf.length; i++) {
    const byte = buf[pos + i] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value, next: pos + i + 1 };
    scale *= 128;
  }
  return undefined;
}

function fnv1a(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h >>> 0;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
