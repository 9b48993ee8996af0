import type { ServiceDefinition } from '@grpc/grpc-js';
import { InvalidInput } from '../domain/errors';
import { MESSAGES, REQUEST_TYPES } from './request-schema';

/**
 * What a guarded deserializer returns instead of throwing: grpc-js answers a throwing
 * deserializer with INTERNAL ("Error deserializing request"), but undecodable bytes are the
 * client's fault. The call gate (`call-gate.ts`) answers this with INVALID_ARGUMENT.
 */
export class DecodeFailure {
  constructor(
    /** The proto field path where decoding failed (`interactions[0].event_time.seconds`), or `request`. */
    readonly field: string,
    readonly reason: string,
  ) {}

  asError(): InvalidInput {
    return new InvalidInput(this.field, this.reason);
  }
}

/** The same package definition with every request deserializer guarded. */
export function guardDeserializers(
  definition: Record<string, ServiceDefinition>,
): Record<string, ServiceDefinition> {
  const out: Record<string, ServiceDefinition> = {};
  for (const [service, methods] of Object.entries(definition)) {
    const guarded: Record<string, unknown> = {};
    for (const [key, method] of Object.entries(methods)) {
      const decode = method.requestDeserialize;
      guarded[key] = {
        ...method,
        requestDeserialize: (buf: Buffer) => {
          try {
            return decode(buf);
          } catch (err) {
            return describeFailure(method.path, buf, err);
          }
        },
      };
    }
    out[service] = guarded as ServiceDefinition;
  }
  return out;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Walks the wire format with the request schema to name the field that could not be decoded. */
export function describeFailure(path: string, buf: Buffer, err: unknown): DecodeFailure {
  const type = REQUEST_TYPES[path];
  const found = type ? walk(buf, 0, buf.length, type, '') : undefined;
  if (found) return found;
  const detail = err instanceof Error ? err.message.slice(0, 120) : 'undecodable';
  return new DecodeFailure('request', `is not a valid protobuf message (${detail})`);
}

class WireError extends Error {}

function walk(
  buf: Buffer,
  start: number,
  end: number,
  type: string,
  prefix: string,
): DecodeFailure | undefined {
  const fields = MESSAGES[type] ?? {};
  const counts = new Map<number, number>();
  let pos = start;
  let fieldPath = prefix || 'request';
  try {
    while (pos < end) {
      fieldPath = prefix || 'request';
      const [tag, afterTag] = varint(buf, pos, end);
      pos = afterTag;
      const no = Number(tag >> 3n);
      const wire = Number(tag & 7n);
      if (no === 0) throw new WireError('field number 0');
      const spec = fields[no];
      if (spec) {
        const i = counts.get(no) ?? 0;
        counts.set(no, i + 1);
        const name = spec.kind === 'message' && spec.repeated ? `${spec.name}[${i}]` : spec.name;
        fieldPath = prefix ? `${prefix}.${name}` : name;
      }
      if (wire === 0) {
        const [value, next] = varint(buf, pos, end);
        pos = next;
        if (spec?.kind === 'int64') {
          const signed = BigInt.asIntN(64, value);
          if (signed > MAX_SAFE || signed < -MAX_SAFE)
            return new DecodeFailure(fieldPath, `${signed} is beyond ±2^53 (not representable)`);
        }
      } else if (wire === 1 || wire === 5) {
        pos += wire === 1 ? 8 : 4;
        if (pos > end) throw new WireError('truncated fixed-width value');
      } else if (wire === 2) {
        const [len, next] = varint(buf, pos, end);
        const stop = next + Number(len);
        if (len > BigInt(end - next)) throw new WireError('length runs past the end of the message');
        if (spec?.kind === 'message') {
          const inner = walk(buf, next, stop, spec.type, fieldPath);
          if (inner) return inner;
        }
        pos = stop;
      } else throw new WireError(`unsupported wire type ${wire}`);
    }
  } catch (err) {
    if (err instanceof WireError) return new DecodeFailure(fieldPath, `malformed protobuf (${err.message})`);
    throw err;
  }
  return undefined;
}

function varint(buf: Buffer, pos: number, end: number): [bigint, number] {
  let value = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= end) throw new WireError('truncated varint');
    const byte = buf[pos + i] as number;
    value |= BigInt(byte & 0x7f) << BigInt(7 * i);
    if (byte < 0x80) return [value, pos + i + 1];
  }
  throw new WireError('varint longer than 10 bytes');
}
