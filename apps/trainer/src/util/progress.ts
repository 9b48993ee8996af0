import type { FitProgress, ProgressBar, ProgressReporter } from '@warmstart/evaluation';

// The progress contract is the evaluation library's (its harness reports through it).
export { silentProgress, type ProgressBar, type ProgressReporter } from '@warmstart/evaluation';
import type { Logger } from './logger';
import { terminal as processTerminal, type Terminal } from './terminal';

export function createProgress(logger: Logger, terminal: Terminal = processTerminal): ProgressReporter {
  return terminal.isTTY ? new TtyProgress(terminal) : new LogProgress(logger);
}

/** Bars at the bottom of the terminal; log lines are printed above them (see Terminal). */
export class TtyProgress implements ProgressReporter {
  constructor(private readonly terminal: Terminal) {}

  start(label: string, total: number): ProgressBar {
    // {step}: whole steps done (`done` may be fractional: progress inside a step)
    const format = `${label.padEnd(28)} [{bar}] {percentage}% | {step}/{total} | ETA {eta_formatted} {info}`;
    const { bar, stop } = this.terminal.startBar(format, total, { info: '', step: 0 });
    return {
      update: (done, info) =>
        bar.update(done, { info: info ? formatInfo(info) : '', step: Math.floor(done) }),
      stop,
    };
  }
}

/** Without a TTY: a log line at most every `intervalMs`, plus the first and the last. */
export class LogProgress implements ProgressReporter {
  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 5000,
  ) {}

  start(label: string, total: number): ProgressBar {
    const started = Date.now();
    let last = 0;
    this.logger.info({ step: label, done: 0, total }, `${label}: started`);
    return {
      update: (done, info) => {
        const now = Date.now();
        if (done < total && now - last < this.intervalMs) return;
        last = now;
        const elapsed = (now - started) / 1000;
        const eta = done > 0 ? Math.round((elapsed / done) * (total - done)) : undefined;
        this.logger.info(
          { step: label, done: Math.round(done * 100) / 100, total, etaSeconds: eta, ...info },
          `${label}: ${Math.floor(done)}/${total}`,
        );
      },
      stop: () => undefined,
    };
  }
}

function formatInfo(info: Record<string, number | string>): string {
  return Object.entries(info)
    .map(([k, v]) => `${k}=${typeof v === 'number' && !Number.isInteger(v) ? v.toFixed(4) : v}`)
    .join(' ');
}

/**
 * A fit's stage progress (FitProgress.stage: the choices made on validation users outside the
 * training epochs) as one bar per stage, labelled with it and stopped when the next stage starts
 * or `stop` is called.
 */
export function stageBars(progress: ProgressReporter): {
  onProgress: (p: FitProgress) => void;
  stop: () => void;
} {
  let current: { stage: string; bar: ProgressBar } | undefined;
  const stop = () => {
    current?.bar.stop();
    current = undefined;
  };
  return {
    onProgress: (p) => {
      if (!p.stage) return;
      if (current?.stage !== p.stage) {
        stop();
        current = { stage: p.stage, bar: progress.start(`choosing: ${p.stage}`, p.total) };
      }
      current.bar.update(p.done);
    },
    stop,
  };
}
