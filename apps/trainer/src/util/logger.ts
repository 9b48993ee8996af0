import pino, { type Logger } from 'pino';

/** Logs go to stderr so stdout stays for command output (tables, JSON). */
export function createLogger(level = process.env['LOG_LEVEL'] ?? 'info'): Logger {
  return pino({ name: 'warmstart-trainer', level }, pino.destination({ dest: 2, sync: true }));
}

export type { Logger };
