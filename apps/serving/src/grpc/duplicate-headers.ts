import type { Server } from '@grpc/grpc-js';
import type { IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';

/** Headers where a second value must be refused rather than dropped. */
const WATCHED = ['authorization'];

/**
 * Node's HTTP/2 server keeps only the first value of a repeated `authorization` header, so
 * "first one wins" and the call never learns of the second. This hook reads each stream's raw
 * header list before grpc-js sees the stream and, when a watched header is repeated, puts every
 * value back into the headers object; the call's metadata then holds them all and the
 * authenticator refuses the call. It reaches grpc-js's HTTP/2 servers through the Server's
 * `http2Servers` map (grpc-js 1.14; `test/auth.e2e.spec.ts` fails if that changes).
 */
export function exposeRepeatedHeaders(server: Server): boolean {
  const servers = (server as unknown as { http2Servers?: Map<NodeJS.EventEmitter, unknown> }).http2Servers;
  if (!(servers instanceof Map) || servers.size === 0) return false;
  for (const http2Server of servers.keys()) {
    http2Server.on('session', (session: ServerHttp2Session) => {
      // Prepended: runs before the server's own listener hands the stream to grpc-js.
      session.prependListener(
        'stream',
        (_stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw: string[]) => {
          if (!Array.isArray(raw)) return;
          for (const name of WATCHED) {
            const values: string[] = [];
            for (let i = 0; i + 1 < raw.length; i += 2)
              if ((raw[i] as string).toLowerCase() === name) values.push(raw[i + 1] as string);
            if (values.length > 1) (headers as Record<string, unknown>)[name] = values;
          }
        },
      );
    });
  }
  return true;
}
