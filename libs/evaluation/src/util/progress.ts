/**
 * One long step's progress. `done` may be fractional (progress inside a step, e.g. meta-training
 * batches of one evaluated method). The trainer draws it as a bar on a TTY and as throttled log
 * lines otherwise; a library caller passes its own or {@link silentProgress}.
 */
export interface ProgressBar {
  update(done: number, info?: Record<string, number | string>): void;
  stop(): void;
}

export interface ProgressReporter {
  start(label: string, total: number): ProgressBar;
}

/** For tests and quiet library use. */
export const silentProgress: ProgressReporter = {
  start: () => ({ update: () => undefined, stop: () => undefined }),
};
