import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { type Observable, catchError, tap, throwError } from 'rxjs';
import { AuditLog, auditCounts } from '../auth/audit';
import type { ModelManager } from '../slots/model-manager';
import type { ServingMetrics } from '../observability/metrics';
import type { CallGate } from './call-gate';
import { deadlineExceeded, toGrpcError } from './errors';

export interface CallInterceptorDeps {
  gate: CallGate;
  audit: AuditLog;
  metrics: ServingMetrics;
  log: Logger;
  models: ModelManager;
}

const codeName = (code: number) => status[code] ?? String(code);

/**
 * Every warmstart RPC the call gate admitted passes here (credentials, scopes and the in-flight
 * limit are the gate's, before decoding): deadline check, error mapping to gRPC statuses, one
 * structured log line, the audit line of admin and ingest calls, and the request metrics.
 */
@Injectable()
export class CallInterceptor implements NestInterceptor {
  constructor(private readonly deps: CallInterceptorDeps) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const [request, metadata, call] =
      context.getArgs<[unknown, Metadata, ServerUnaryCall<unknown, unknown>]>();
    const path = call?.getPath?.() ?? '';
    const method = path.replace(/^\/warmstart\.v1\./, '') || context.getHandler().name;
    const started = process.hrtime.bigint();
    const audited = AuditLog.covers(path);
    const finish = (code: number, message?: string, reply?: unknown) => {
      if (audited)
        this.deps.audit.record({
          principal: this.deps.gate.principalOf(metadata)?.name ?? 'unknown',
          rpc: method,
          status: codeName(code),
          counts: auditCounts(method, request, reply),
        });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.deps.metrics.observeCall(method, codeName(code), seconds);
      const level =
        code === status.OK ? 'info' : code === status.INTERNAL || code === status.UNKNOWN ? 'error' : 'warn';
      // The line is only built when its level is logged (the benchmark runs at warn).
      if (!this.deps.log.isLevelEnabled(level)) return;
      const model = (reply as { model?: { modelId: string; version: number } } | undefined)?.model;
      const line = {
        method,
        status: codeName(code),
        latencyMs: Math.round(seconds * 1e6) / 1e3,
        model: model ? `${model.modelId}@${model.version}` : this.modelLabel(),
        ...(message ? { error: message } : {}),
      };
      this.deps.log[level](line, 'rpc');
    };
    try {
      const deadline = call?.getDeadline?.();
      if (deadline !== undefined && deadline !== Infinity && new Date(deadline).getTime() <= Date.now())
        throw deadlineExceeded('deadline already passed on arrival');
    } catch (err) {
      return this.fail(err, finish);
    }
    return next.handle().pipe(
      tap((reply) => finish(status.OK, undefined, reply)),
      catchError((err: unknown) => this.fail(err, finish)),
    );
  }

  private fail(err: unknown, finish: (code: number, message?: string) => void): Observable<never> {
    const shaped = toGrpcError(err);
    if (shaped.code === status.INTERNAL) this.deps.log.error({ err }, 'unexpected error');
    finish(shaped.code, shaped.message);
    return throwError(() => new RpcException(shaped));
  }

  private modelLabel(): string | undefined {
    const ref = this.deps.models.current;
    return ref ? `${ref.modelId}@${ref.version}` : undefined;
  }
}
