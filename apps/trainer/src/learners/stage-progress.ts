import type { FitContext } from '@warmstart/evaluation';

/**
 * Progress of a stage outside the training epochs (the candidates of a choice scored on validation
 * users): reports 0 of `total` at once and returns the tick to call after each candidate. On a
 * large catalog such a stage takes minutes; without it the progress would stand still.
 */
export function stageProgress(ctx: Pick<FitContext, 'onProgress'>, stage: string, total: number): () => void {
  let done = 0;
  ctx.onProgress?.({ done, total, stage });
  return () => ctx.onProgress?.({ done: Math.min(++done, total), total, stage });
}

/** `ctx`'s progress with every stage named under `prefix` (e.g. the ranker's own choices). */
export function prefixedStages(
  ctx: Pick<FitContext, 'onProgress'>,
  prefix: string,
): Pick<FitContext, 'onProgress'> {
  const report = ctx.onProgress;
  return report ? { onProgress: (p) => report(p.stage ? { ...p, stage: `${prefix}${p.stage}` } : p) } : {};
}
