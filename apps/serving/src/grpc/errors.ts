import { status } from '@grpc/grpc-js';
import { DomainError, type DomainErrorKind } from '../domain/errors';

/**
 * An error of the transport layer (the interceptor, the call gate, authentication, the registry
 * controller) that carries the gRPC status it should be answered with. Domain code throws
 * domain errors (domain/errors.ts) instead.
 */
export class ServingError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'ServingError';
  }
}

export const notFound = (message: string): ServingError => new ServingError(status.NOT_FOUND, message);
export const failedPrecondition = (message: string): ServingError =>
  new ServingError(status.FAILED_PRECONDITION, message);
export const resourceExhausted = (message: string): ServingError =>
  new ServingError(status.RESOURCE_EXHAUSTED, message);
export const deadlineExceeded = (message: string): ServingError =>
  new ServingError(status.DEADLINE_EXCEEDED, message);
export const cancelled = (message: string): ServingError => new ServingError(status.CANCELLED, message);
export const unauthenticated = (message: string): ServingError =>
  new ServingError(status.UNAUTHENTICATED, message);
export const permissionDenied = (message: string): ServingError =>
  new ServingError(status.PERMISSION_DENIED, message);
export const unavailable = (message: string): ServingError => new ServingError(status.UNAVAILABLE, message);

/** The error shape grpc-js turns into a status: numeric `code` plus `details`. */
export interface GrpcErrorShape {
  code: status;
  message: string;
  details: string;
}

/**
 * Maps anything thrown below a controller to a gRPC status. Library validation errors
 * (`ValidationError` with a `field`, from @warmstart/feature-store or core) become
 * INVALID_ARGUMENT naming the field; unknown errors become INTERNAL without leaking internals.
 */
export function toGrpcError(err: unknown): GrpcErrorShape {
  if (err instanceof ServingError) return shape(err.code, err.message);
  if (err instanceof DomainError) return shape(DOMAIN_STATUS[err.kind], err.message);
  if (isFieldError(err)) {
    const message = err.message.startsWith(err.field)
      ? err.message.slice(err.field.length)
      : `: ${err.message}`;
    return shape(status.INVALID_ARGUMENT, `${protoFieldPath(err.field)}${message}`);
  }
  if (isNamed(err, 'NotFoundError')) return shape(status.NOT_FOUND, err.message);
  if (isNamed(err, 'FailedPreconditionError') || isNamed(err, 'ConflictError'))
    return shape(status.FAILED_PRECONDITION, err.message);
  return shape(status.INTERNAL, 'internal error');
}

/** The one place a domain failure becomes a gRPC status. */
const DOMAIN_STATUS: Record<DomainErrorKind, status> = {
  'invalid-input': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  'no-model': status.FAILED_PRECONDITION,
  overloaded: status.RESOURCE_EXHAUSTED,
  'deadline-passed': status.DEADLINE_EXCEEDED,
  cancelled: status.CANCELLED,
  'shutting-down': status.UNAVAILABLE,
};

/** Library field paths use TypeScript names; callers know the proto (snake_case) names. */
const PROTO_NAMES: Record<string, string> = {
  itemId: 'item_id',
  userId: 'user_id',
  eventId: 'event_id',
  eventTime: 'event_time',
  availableAt: 'available_at',
  modelId: 'model_id',
  cursor: 'page_token',
};

export function protoFieldPath(field: string): string {
  return field.replace(/(?<=^|\.)([A-Za-z]+)(?=$|[.[])/g, (name: string) => PROTO_NAMES[name] ?? name);
}

/**
 * Longest status message sent: messages quote bad values through `quote` (~200 characters
 * each); this bound also covers library messages, so an error never turns into "metadata size
 * exceeds limit" on the client.
 */
export const MAX_MESSAGE_CHARS = 1000;

/** A status to answer with, its message bounded; no Error is built (nothing to capture a stack for). */
export function shape(code: status, raw: string): GrpcErrorShape {
  const message = raw.length > MAX_MESSAGE_CHARS ? `${raw.slice(0, MAX_MESSAGE_CHARS)}… (truncated)` : raw;
  return { code, message, details: message };
}

function isFieldError(err: unknown): err is Error & { field: string } {
  return (
    err instanceof Error &&
    err.name === 'ValidationError' &&
    typeof (err as { field?: unknown }).field === 'string'
  );
}

function isNamed(err: unknown, name: string): err is Error {
  return err instanceof Error && err.name === name;
}
