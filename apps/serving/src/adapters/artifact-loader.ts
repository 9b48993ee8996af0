import { loadModel } from '@warmstart/core';
import type { ModelLoader } from './core-runtime';

/** Core's `loadModel`: reads an artifact directory and verifies its checksums (throws if corrupt). */
export const loadArtifact: ModelLoader = (dir) => loadModel(dir);
