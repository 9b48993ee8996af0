import * as net from 'node:net';

/** HPACK integer with an n-bit prefix (RFC 7541, 5.1). */
function hpackInt(value: number, prefixBits: number, first = 0): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) + 128);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

/** Literal header field without indexing, new name, no Huffman coding (RFC 7541, 6.2.2). */
function literal(name: string, value: string): Buffer {
  const n = Buffer.from(name);
  const v = Buffer.from(value);
  return Buffer.concat([
    Buffer.from([0x00, ...hpackInt(n.length, 7)]),
    n,
    Buffer.from(hpackInt(v.length, 7)),
    v,
  ]);
}

function frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

export interface RawReply {
  /** Whether the server sent any DATA frame on the stream (a response message). */
  gotData: boolean;
  /** Whether the stream ended (HEADERS or DATA with END_STREAM, or RST_STREAM). */
  ended: boolean;
}

/**
 * One gRPC unary call over a hand-written HTTP/2 connection, so that the header list can hold
 * what Node's and grpc-js's clients refuse to send (e.g. two `authorization` headers). The reply
 * is not HPACK-decoded: tests read the outcome from the server side (metrics, store).
 */
export function rawUnary(
  port: number,
  path: string,
  headers: Array<[string, string]>,
  message: Buffer,
  timeoutMs = 5000,
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const reply: RawReply = { gotData: false, ended: false };
    let buffer = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(reply);
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      socket.end();
      resolve(reply);
    };
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('connect', () => {
      const block = Buffer.concat(
        [
          [':method', 'POST'],
          [':scheme', 'http'],
          [':path', path],
          [':authority', `127.0.0.1:${port}`],
          ['content-type', 'application/grpc'],
          ['te', 'trailers'],
          ...headers,
        ].map(([n, v]) => literal(n as string, v as string)),
      );
      const body = Buffer.alloc(5 + message.length);
      body.writeUInt32BE(message.length, 1);
      message.copy(body, 5);
      socket.write(
        Buffer.concat([
          Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
          frame(0x4, 0, 0, Buffer.alloc(0)), // SETTINGS
          frame(0x1, 0x4, 1, block), // HEADERS, END_HEADERS
          frame(0x0, 0x1, 1, body), // DATA, END_STREAM
        ]),
      );
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 9) {
        const length = buffer.readUIntBE(0, 3);
        if (buffer.length < 9 + length) break;
        const type = buffer[3] as number;
        const flags = buffer[4] as number;
        const stream = buffer.readUInt32BE(5) & 0x7fffffff;
        buffer = buffer.subarray(9 + length);
        if (type === 0x4 && (flags & 0x1) === 0) socket.write(frame(0x4, 0x1, 0, Buffer.alloc(0)));
        if (stream !== 1) continue;
        if (type === 0x0 && length > 0) reply.gotData = true;
        if (((type === 0x0 || type === 0x1) && (flags & 0x1) !== 0) || type === 0x3) {
          reply.ended = true;
          finish();
          return;
        }
      }
    });
  });
}
