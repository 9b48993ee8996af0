import type { Metadata, ServerUnaryCall } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { type Observable, catchError, tap, throwError } from 'rxjs';
import type { ModelManager } from '../model/model-manager';
import type { ServingMetrics } from '../observability/metrics';
import type { BearerAuth } from './auth';
import { deadlineExceeded, resourceExhausted, toGrpcError } from './errors';

export interface CallInterceptorDeps {
  auth: BearerAuth;
  metrics: ServingMetrics;
  log: Logger;
  models: ModelManager;
  maxInFlight: number;
}

const codeName = (code: number) => status[code] ?? String(code);

/**
 * Every warmstart RPC passes here: bearer-token check, in-flight limit, deadline check, error
 * mapping to gRPC statuses, one structured log line and the request metrics.
 */
@Injectable()
export class CallInterceptor implements NestInterceptor {
  private inFlight = 0;

  constructor(private readonly deps: CallInterceptorDeps) {}

  get activeCalls(): number {
    return this.inFlight;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const [, metadata, call] = context.getArgs<[unknown, Metadata, ServerUnaryCall<unknown, unknown>]>();
    const method = call?.getPath?.().replace(/^\/warmstart\.v1\./, '') ?? context.getHandler().name;
    const started = process.hrtime.bigint();
    let counted = false;
    const finish = (code: number, message?: string, reply?: unknown) => {
      if (counted) {
        this.inFlight -= 1;
        counted = false;
      }
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
      this.deps.auth.check(metadata);
      if (this.inFlight >= this.deps.maxInFlight)
        throw resourceExhausted(`too many concurrent calls (limit ${this.deps.maxInFlight})`);
      const deadline = call?.getDeadline?.();
      if (deadline !== undefined && deadline !== Infinity && new Date(deadline).getTime() <= Date.now())
        throw deadlineExceeded('deadline already passed on arrival');
    } catch (err) {
      return this.fail(err, finish);
    }
    this.inFlight += 1;
    counted = true;
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
