import type { Logger } from '../util/logger';
import type { ProgressReporter } from '../util/progress';

/** What every command handler gets: where to print results, log and report progress. */
export interface CommandContext {
  out: (line: string) => void;
  logger: Logger;
  progress: ProgressReporter;
}
