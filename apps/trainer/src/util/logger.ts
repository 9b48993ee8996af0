import { redactCredentials } from '@warmstart/feature-store';
import pino, { type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { terminal, type LineWriter } from './terminal';

/** `json`: one pino JSON object per line; `pretty`: `[time] LEVEL: message {fields}` for people. */
export type LogFormat = 'json' | 'pretty';

export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** Pretty on a terminal, JSON otherwise (pipes, files, log collectors); `WARMSTART_LOG_FORMAT` overrides. */
export function defaultLogFormat(tty = terminal.isTTY, env = process.env): LogFormat {
  const chosen = env['WARMSTART_LOG_FORMAT'];
  if (chosen === 'json' || chosen === 'pretty') return chosen;
  return tty ? 'pretty' : 'json';
}

/**
 * The log's destination: formats each pino line (JSON or pretty) with credentials redacted and
 * hands it to the terminal, which keeps it above any progress bar. `format` may change until the
 * first line is written (the CLI sets it from `--log-format` once the command line is parsed).
 */
export class LogSink {
  private pretty: ((line: string) => string) | undefined;

  constructor(
    public format: LogFormat = defaultLogFormat(),
    private readonly out: LineWriter = terminal,
  ) {}

  write(line: string): void {
    let text = line;
    if (this.format === 'pretty') {
      this.pretty ??= prettyFactory({
        colorize: this.out.isTTY,
        translateTime: 'SYS:HH:MM:ss',
        ignore: 'pid,hostname,name',
        singleLine: true,
      });
      text = this.pretty(line);
    }
    this.out.write(redactCredentials(text));
  }
}

/** Logs go to stderr so stdout stays for command output (tables, JSON). */
export function createLogger(level = process.env['LOG_LEVEL'] ?? 'info', sink = new LogSink()): Logger {
  return pino({ name: 'warmstart-trainer', level }, sink);
}

export type { Logger };
