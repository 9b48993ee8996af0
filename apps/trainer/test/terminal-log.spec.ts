import { createLogger, defaultLogFormat, LogSink } from '../src/util/logger';
import { LogProgress, TtyProgress } from '../src/util/progress';
import { Terminal } from '../src/util/terminal';
import { Screen } from './support/screen';

/** Lines written to a plain (non-TTY) writer. */
function collector(isTTY = false) {
  const text: string[] = [];
  return { text, writer: { isTTY, write: (t: string) => void text.push(t) } };
}

describe('log format', () => {
  it('is pretty on a terminal and JSON elsewhere; WARMSTART_LOG_FORMAT overrides both', () => {
    expect(defaultLogFormat(true, {})).toBe('pretty');
    expect(defaultLogFormat(false, {})).toBe('json');
    expect(defaultLogFormat(true, { WARMSTART_LOG_FORMAT: 'json' })).toBe('json');
    expect(defaultLogFormat(false, { WARMSTART_LOG_FORMAT: 'pretty' })).toBe('pretty');
  });

  it('pretty: one human-readable line per entry, fields inline, credentials redacted', () => {
    const { text, writer } = collector();
    const logger = createLogger('info', new LogSink('pretty', writer));
    logger.info({ database: 'postgresql://app:s3cretpw@db:5432/ws', epoch: 2 }, 'training');
    expect(text).toHaveLength(1);
    expect(text[0]).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: training \{.*"epoch":2.*\}\n$/);
    expect(text[0]).toContain('postgresql://app:***@db:5432/ws');
    expect(text[0]).not.toContain('s3cretpw');
    expect(text[0]).not.toContain('"level"');
  });

  it('json: one parseable pino object per line, credentials redacted', () => {
    const { text, writer } = collector();
    const logger = createLogger('info', new LogSink('json', writer));
    logger.warn({ err: new Error('cannot reach postgresql://app:s3cretpw@db/ws') }, 'failed');
    const entry = JSON.parse(text[0]) as {
      level: number;
      msg: string;
      name: string;
      err: { message: string };
    };
    expect(entry).toMatchObject({ level: 40, msg: 'failed', name: 'warmstart-trainer' });
    expect(entry.err.message).toBe('cannot reach postgresql://app:***@db/ws');
  });
});

describe('on a terminal, log lines and the progress bar', () => {
  // The bar redraws on a 100 ms timer: let it draw before each log line, as in a real run.
  const redraw = () => new Promise((resolve) => setTimeout(resolve, 150));

  it('never overwrite each other: every line is printed whole above the bar', async () => {
    const screen = new Screen();
    const terminal = new Terminal(screen.stream, true);
    const logger = createLogger('info', new LogSink('pretty', terminal));
    const bar = new TtyProgress(terminal).start('meta-train', 10);
    bar.update(3, { loss: 0.5 });
    await redraw();
    logger.info({ epoch: 1 }, 'epoch finished');
    bar.update(6, { loss: 0.25 });
    await redraw();
    logger.warn('validation loss went up');
    bar.stop();
    logger.info('after the bar');

    const lines = screen.lines();
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: epoch finished \{"epoch":1\}$/);
    expect(lines[1]).toMatch(/^\[\d\d:\d\d:\d\d\] WARN: validation loss went up$/);
    expect(lines[2]).toMatch(/^meta-train +\[[█░]+\] 60% \| 6\/10 \| ETA .* loss=0\.2500$/);
    expect(lines[3]).toMatch(/INFO: after the bar$/);
  });

  it('two bars at once share the bottom of the screen; lines still go above them', async () => {
    const screen = new Screen();
    const terminal = new Terminal(screen.stream, true);
    const logger = createLogger('info', new LogSink('json', terminal));
    const progress = new TtyProgress(terminal);
    const outer = progress.start('evaluate', 2);
    const inner = progress.start('method', 4);
    inner.update(4);
    await redraw();
    logger.info('method done');
    inner.stop();
    outer.update(1);
    outer.stop();

    const lines = screen.lines();
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[0])).toMatchObject({ msg: 'method done' });
    expect(lines[1]).toMatch(/^evaluate +\[.*\] 50% \| 1\/2/);
    expect(lines[2]).toMatch(/^method +\[.*\] 100% \| 4\/4/);
  });

  it('off a terminal there is no bar: throttled log lines instead', () => {
    const { text, writer } = collector();
    const logger = createLogger('info', new LogSink('json', writer));
    const bar = new LogProgress(logger, 60_000).start('import', 3);
    bar.update(1);
    bar.update(2); // within the interval: not logged
    bar.update(3);
    const msgs = text.map((t) => (JSON.parse(t) as { msg: string }).msg);
    expect(msgs).toEqual(['import: started', 'import: 1/3', 'import: 3/3']);
  });
});
