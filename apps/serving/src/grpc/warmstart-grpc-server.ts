import * as grpc from '@grpc/grpc-js';
import { ServerGrpc, type GrpcOptions } from '@nestjs/microservices';

export interface DrainOptions {
  /** How long shutdown waits for in-flight calls before cancelling what is left. */
  drainTimeoutMs: number;
  onBound?: (port: number) => void;
  /** grpc-js server interceptors (they run before a request body is decoded). */
  interceptors?: grpc.ServerInterceptor[];
  /** Called with the grpc-js server once it is bound. */
  onServer?: (server: grpc.Server) => void;
}

/**
 * NestJS's grpc-js transport with two additions: it reports the bound port (so port 0 works)
 * and its shutdown is bounded: stop accepting, let in-flight calls finish for up to
 * `drainTimeoutMs`, then force-close what is left (e.g. open Health.Watch streams).
 *
 * Only ServerGrpc's public API is used: `createClient` (the factory its `listen` calls for the
 * grpc-js server, overridden to add interceptors and report the port) and `close`; the server it
 * returns is kept here, so shutdown never reads Nest's own (protected) reference to it.
 */
export class WarmstartGrpcServer extends ServerGrpc {
  private boundPort: number | undefined;
  private server: grpc.Server | undefined;

  constructor(
    private readonly grpcOptions: GrpcOptions['options'],
    private readonly drain: DrainOptions,
  ) {
    super(grpcOptions);
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  override async createClient(): Promise<grpc.Server> {
    const o = this.grpcOptions;
    const server = new grpc.Server({
      ...o.channelOptions,
      ...(o.maxSendMessageLength ? { 'grpc.max_send_message_length': o.maxSendMessageLength } : {}),
      ...(o.maxReceiveMessageLength ? { 'grpc.max_receive_message_length': o.maxReceiveMessageLength } : {}),
      ...(this.drain.interceptors ? { interceptors: this.drain.interceptors } : {}),
    });
    const credentials =
      (o.credentials as grpc.ServerCredentials | undefined) ?? grpc.ServerCredentials.createInsecure();
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(o.url ?? 'localhost:5000', credentials, (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    this.server = server;
    this.drain.onBound?.(this.boundPort);
    this.drain.onServer?.(server);
    return server;
  }

  override async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, this.drain.drainTimeoutMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
