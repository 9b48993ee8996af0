import { redactCredentials } from '@warmstart/feature-store';
import pino, { type Logger } from 'pino';

/** Characters of an error's message (and stack) written to a log line: it may quote client input. */
const MAX_ERR_MESSAGE = 300;
const MAX_ERR_STACK = 4000;

const cut = (s: unknown, max: number) =>
  typeof s === 'string' && s.length > max ? `${s.slice(0, max)}… (${s.length} characters)` : s;

/** pino's error serializer with the message and stack bounded. */
export function boundedErr(err: Error): Record<string, unknown> {
  const out = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  return { ...out, message: cut(out['message'], MAX_ERR_MESSAGE), stack: cut(out['stack'], MAX_ERR_STACK) };
}

/**
 * Structured JSON logs on stdout (or a given destination, for tests). Every line goes through
 * redactCredentials: an error from the database driver may quote the `--database` URL.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'warmstart-serve',
      level,
      base: { pid: process.pid },
      serializers: { err: boundedErr },
      hooks: { streamWrite: redactCredentials },
    },
    destination,
  );
}
