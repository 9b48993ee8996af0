import { loadConfig } from '../config/load';
import { runScheduler } from '../schedule/scheduler';
import type { CommandContext } from './context';
import { withStore } from '../data/store';
import { failStaleRuns, trainCommand } from './train';

export interface ScheduleFlags {
  cron: string;
  config?: string;
  database: string;
  artifacts: string;
}

/**
 * `schedule`: a long-running process that runs `train` on the cron schedule. `train` takes the
 * database lease, so two schedulers (or a manual train) never run at once; a failed run is
 * recorded by `train` with its error and never touches the promoted model.
 */
export async function scheduleCommand(
  flags: ScheduleFlags,
  ctx: CommandContext,
  signal: AbortSignal,
): Promise<void> {
  const config = loadConfig(flags.config); // fail fast on a bad config, not at the first tick
  // Runs left `running` by a crashed process are failed now, not only at the next tick's `train`.
  await withStore(flags.database, (store) => failStaleRuns(store, config, ctx));
  await runScheduler({
    cron: flags.cron,
    logger: ctx.logger,
    signal,
    job: () =>
      trainCommand(
        { database: flags.database, artifacts: flags.artifacts, config: flags.config },
        ctx,
        signal,
      ),
  });
}
