import { loadModel, readManifest, saveModel, type RecommenderModel } from '@warmstart/core';
import { join } from 'node:path';

/** Checkpoints live beside the artifacts, one directory per run, replaced atomically each time. */
export function checkpointDir(artifacts: string, runId: string): string {
  return join(artifacts, '.checkpoints', runId);
}

export async function writeCheckpoint(
  model: RecommenderModel,
  dir: string,
  epochsDone: number,
  runId: string,
): Promise<void> {
  await saveModel(model, dir, { labels: { runId, epochsDone: String(epochsDone) } }, { overwrite: true });
}

export async function readCheckpoint(
  dir: string,
): Promise<{ model: RecommenderModel; epochsDone: number; runId: string }> {
  const manifest = await readManifest(dir);
  const epochsDone = Number(manifest.labels['epochsDone']);
  if (!Number.isInteger(epochsDone)) throw new Error(`--resume: ${dir} is not a training checkpoint`);
  return { model: await loadModel(dir), epochsDone, runId: manifest.labels['runId'] ?? '' };
}
