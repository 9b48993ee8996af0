import {
  ServerInterceptingCall,
  status,
  type Metadata,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { AuditLog } from '../auth/audit';
import type { Authenticator, Principal } from '../auth/authenticator';
import { rpcName, scopeOf } from '../auth/scopes';
import type { ServingMetrics } from '../observability/metrics';
import type { ConcurrencyLimit } from './concurrency-limit';
import { DecodeFailure } from './decode-guard';
import { shape, toGrpcError, type GrpcErrorShape } from './errors';

export interface CallGateDeps {
  auth: Authenticator;
  audit: AuditLog;
  metrics: ServingMetrics;
  log: Logger;
  /** How many calls are admitted at once (`--max-in-flight`: adaptive, or a fixed number). */
  limit: ConcurrencyLimit;
}

const codeName = (code: number) => status[code] ?? String(code);

/**
 * The first thing a warmstart call meets, as a grpc-js server interceptor: it authenticates the
 * call and checks its scope from the metadata alone, then applies the concurrency limit, all
 * before the request body is read or decoded (a refused call costs no decoding). Admitted calls
 * are counted until their status is sent, and their latency (admission to status) is fed back to
 * the limit. A body the guarded deserializer could not decode
 * (`DecodeFailure`) is answered INVALID_ARGUMENT here instead of grpc-js's INTERNAL. Health and
 * reflection pass untouched.
 */
export class CallGate {
  private readonly principals = new WeakMap<Metadata, Principal>();

  constructor(private readonly deps: CallGateDeps) {}

  readonly interceptor: ServerInterceptor = (method, call) => this.wrap(method.path, call);

  /** Calls admitted and not yet answered. */
  get activeCalls(): number {
    return this.deps.limit.inFlight;
  }

  /** Who made the call whose metadata this is (set once the gate admitted it). */
  principalOf(metadata: Metadata | undefined): Principal | undefined {
    return metadata ? this.principals.get(metadata) : undefined;
  }

  private wrap(path: string, call: ServerInterceptingCallInterface): ServerInterceptingCall {
    const needed = scopeOf(path);
    if (needed === undefined) return new ServerInterceptingCall(call);
    const rpc = rpcName(path);
    const started = process.hrtime.bigint();
    let admittedAt: bigint | undefined;
    let answered = false;
    let principal: Principal | undefined;
    const release = () => {
      if (admittedAt === undefined) return;
      this.deps.limit.release(Number(process.hrtime.bigint() - admittedAt) / 1e6);
      admittedAt = undefined;
    };
    const refuse = (shaped: GrpcErrorShape) => {
      answered = true;
      const code = codeName(shaped.code);
      this.deps.metrics.observeCall(rpc, code, Number(process.hrtime.bigint() - started) / 1e9);
      // Shed calls come in floods under overload: counted in the metrics, logged only at debug.
      const level = shaped.code === status.RESOURCE_EXHAUSTED ? 'debug' : 'warn';
      if (this.deps.log.isLevelEnabled(level))
        this.deps.log[level](
          { method: rpc, status: code, error: shaped.message, principal: principal?.name },
          'rpc',
        );
      if (AuditLog.covers(path))
        this.deps.audit.record({ principal: principal?.name ?? 'unauthenticated', rpc, status: code });
      gate.sendStatus({ code: shaped.code, details: shaped.message });
    };
    const gate: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            try {
              principal = this.deps.auth.authenticate(metadata, call.getAuthContext().sslPeerCertificate);
              this.deps.auth.authorize(principal, needed, rpc);
            } catch (err) {
              refuse(toGrpcError(err));
              return;
            }
            if (!this.deps.limit.tryAcquire()) {
              // Sheds come in floods under overload: answered without building an Error (a stack
              // captured per shed call cost 3% of a saturated server's main thread).
              refuse(
                shape(
                  status.RESOURCE_EXHAUSTED,
                  `too many concurrent calls (limit ${this.deps.limit.limit})`,
                ),
              );
              return;
            }
            admittedAt = process.hrtime.bigint();
            this.principals.set(metadata, principal);
            nextMetadata(metadata);
          },
          onReceiveMessage: (message, nextMessage) => {
            if (message instanceof DecodeFailure) refuse(toGrpcError(message.asError()));
            else nextMessage(message);
          },
          onReceiveHalfClose: (nextHalfClose) => {
            if (!answered) nextHalfClose();
          },
          onCancel: release,
        }),
      sendStatus: (s, nextStatus) => {
        release();
        nextStatus(s);
      },
    });
    return gate;
  }
}
