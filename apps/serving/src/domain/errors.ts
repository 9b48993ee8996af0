/**
 * What can go wrong in serving's domain code (recommend/, batching/, slots/, cache/, validation/),
 * said in the domain's terms. The domain never names a transport status: the gRPC edge maps each
 * kind to one in a single table (grpc/errors.ts, toGrpcError), so another transport would map the
 * same errors its own way.
 */

/** The kinds of domain failure (one class each below). */
export type DomainErrorKind =
  | 'invalid-input'
  | 'not-found'
  | 'no-model'
  | 'overloaded'
  | 'deadline-passed'
  | 'cancelled'
  | 'shutting-down';

/** A domain failure; subclasses name their kind, the class name is the error's name. */
export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;

  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad input: the message names the offending field (e.g. `user.support[2].value`). */
export class InvalidInput extends DomainError {
  readonly kind = 'invalid-input';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** Something the request names does not exist (a stored user, a model). */
export class NotFound extends DomainError {
  readonly kind = 'not-found';
}

/** No model is promoted yet, so nothing can be scored. */
export class NoModel extends DomainError {
  readonly kind = 'no-model';
}

/** The server is at capacity for this kind of work (a full queue); the caller may retry later. */
export class Overloaded extends DomainError {
  readonly kind = 'overloaded';
}

/** The call's deadline passed before its work could be done. */
export class DeadlinePassed extends DomainError {
  readonly kind = 'deadline-passed';
}

/** The caller cancelled the call. */
export class Cancelled extends DomainError {
  readonly kind = 'cancelled';
}

/** The server is shutting down and takes no new work. */
export class ShuttingDown extends DomainError {
  readonly kind = 'shutting-down';
}

/** Characters of a client value or name quoted in an error message or log line. */
export const MAX_QUOTED_CHARS = 200;

/** `"value"`, cut to ~200 characters with its full length said (`"aaa…" (100000 characters)`). */
export function quote(value: string): string {
  if (value.length <= MAX_QUOTED_CHARS) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, MAX_QUOTED_CHARS))}… (${value.length} characters)`;
}
