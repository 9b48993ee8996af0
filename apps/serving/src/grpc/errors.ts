import { status } from '@grpc/grpc-js';

/** An error that carries the gRPC status it should be answered with. */
export class ServingError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'ServingError';
  }
}

/** Bad input: the message names the offending field (e.g. `user.support[2].value`). */
export class InvalidArgument extends ServingError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(status.INVALID_ARGUMENT, `${field}: ${message}`);
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

function shape(code: status, raw: string): GrpcErrorShape {
  const message = raw.length > MAX_MESSAGE_CHARS ? `${raw.slice(0, MAX_MESSAGE_CHARS)}… (truncated)` : raw;
  return { code, message, details: message };
}

/** Characters of a client value or name quoted in an error message or log line. */
export const MAX_QUOTED_CHARS = 200;

/** `"value"`, cut to ~200 characters with its full length said (`"aaa…" (100000 characters)`). */
export function quote(value: string): string {
  if (value.length <= MAX_QUOTED_CHARS) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, MAX_QUOTED_CHARS))}… (${value.length} characters)`;
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
