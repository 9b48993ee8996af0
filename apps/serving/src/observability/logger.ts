import pino, { type Logger } from 'pino';

/** Structured JSON logs on stdout (or a given destination, for tests). */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ name: 'warmstart-serve', level, base: { pid: process.pid } }, destination);
}
