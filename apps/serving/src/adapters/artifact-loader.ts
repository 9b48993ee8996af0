import * as core from '@warmstart/core';
import type { ModelLoader } from './core-runtime';

type LoadModel = (dir: string) => Promise<core.RecommenderModel>;

/** Core's `loadModel` (reads the artifact directory and verifies its checksums). */
export const loadArtifact: ModelLoader = async (dir) => {
  const loadModel = (core as unknown as { loadModel?: LoadModel }).loadModel;
  if (loadModel === undefined) throw new Error('@warmstart/core does not provide loadModel in this build');
  return loadModel(dir);
};
