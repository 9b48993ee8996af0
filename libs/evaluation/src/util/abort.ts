/** A job stopped on request (Ctrl-C, SIGTERM, a plain `abort()`), not a failure. */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
}

/** Throws the signal's reason (or a CancelledError) once it has aborted: long loops call it between steps. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason instanceof Error ? signal.reason : new CancelledError('cancelled');
  }
}

export function isCancellation(err: unknown): boolean {
  return err instanceof CancelledError || (err instanceof Error && err.name === 'AbortError');
}

/**
 * The error to throw when a job saw its signal abort: the abort reason when it is a real error
 * (e.g. a lost lease), else a CancelledError with `message` (Ctrl-C, a plain abort()).
 */
export function stopError(signal: AbortSignal | undefined, message: string): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error && !isCancellation(reason) ? reason : new CancelledError(message);
}
