/**
 * What can go wrong in serving's domain code (recommend/, batching/, model/, cache/, validation/),
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

export abstract class DomainError extends Error {
  abstract readonly kind: DomainErrorKind;
}

/** Bad input: the message names the offending field (e.g. `user.support[2].value`). */
export class InvalidInput extends DomainError {
  readonly kind = 'invalid-input';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'InvalidInput';
  }
}

/** Something the request names does not exist (a stored user, a model). */
export class NotFound extends DomainError {
  readonly kind = 'not-found';
  constructor(message: string) {
    super(message);
    this.name = 'NotFound';
  }
}

/** No model is promoted yet, so nothing can be scored. */
export class NoModel extends DomainError {
  readonly kind = 'no-model';
  constructor(message: string) {
    super(message);
    this.name = 'NoModel';
  }
}

/** The server is at capacity for this kind of work (a full queue); the caller may retry later. */
export class Overloaded extends DomainError {
  readonly kind = 'overloaded';
  constructor(message: string) {
    super(message);
    this.name = 'Overloaded';
  }
}

/** The call's deadline passed before its work could be done. */
export class DeadlinePassed extends DomainError {
  readonly kind = 'deadline-passed';
  constructor(message: string) {
    super(message);
    this.name = 'DeadlinePassed';
  }
}

/** The caller cancelled the call. */
export class Cancelled extends DomainError {
  readonly kind = 'cancelled';
  constructor(message: string) {
    super(message);
    this.name = 'Cancelled';
  }
}

/** The server is shutting down and takes no new work. */
export class ShuttingDown extends DomainError {
  readonly kind = 'shutting-down';
  constructor(message: string) {
    super(message);
    this.name = 'ShuttingDown';
  }
}

/** Characters of a client value or name quoted in an error message or log line. */
export const MAX_QUOTED_CHARS = 200;

/** `"value"`, cut to ~200 characters with its full length said (`"aaa…" (100000 characters)`). */
export function quote(value: string): string {
  if (value.length <= MAX_QUOTED_CHARS) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, MAX_QUOTED_CHARS))}… (${value.length} characters)`;
}
