import type { ServerUnaryCall } from '@grpc/grpc-js';

/** Epoch milliseconds by which the caller wants an answer (Infinity when no deadline was set). */
export function deadlineOf(call: ServerUnaryCall<unknown, unknown> | undefined): number {
  const deadline = call?.getDeadline();
  if (deadline === undefined) return Infinity;
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/**
 * Aborted when the call ends before its answer: the client cancelled, its deadline passed
 * (grpc-js then answers DEADLINE_EXCEEDED itself) or the connection went away. Queued work of
 * such a call is dropped instead of being done for nobody.
 */
export function signalOf(call: ServerUnaryCall<unknown, unknown> | undefined): AbortSignal | undefined {
  if (!call || typeof call.on !== 'function') return undefined;
  const controller = new AbortController();
  if (call.cancelled) controller.abort();
  else call.once('cancelled', () => controller.abort());
  return controller.signal;
}
