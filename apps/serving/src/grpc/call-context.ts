import type { ServerUnaryCall } from '@grpc/grpc-js';

/** Epoch milliseconds by which the caller wants an answer (Infinity when no deadline was set). */
export function deadlineOf(call: ServerUnaryCall<unknown, unknown> | undefined): number {
  const deadline = call?.getDeadline();
  if (deadline === undefined) return Infinity;
  return deadline instanceof Date ? deadline.getTime() : deadline;
}
