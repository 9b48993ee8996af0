import { metaTrain, type RecommenderModel, type TrainProgress, type TrainResult } from '@warmstart/core';
import { type ItemCatalog, stopError, type Task } from '@warmstart/evaluation';

export interface PretrainOptions {
  outerLr: number;
  metaBatchSize: number;
  epochs: number;
  seed: number;
  /** Core `freezeItemBiases`: item bias terms keep their initial (closed-form) values. */
  freezeItemBiases?: boolean;
}

/**
 * Plain (non-meta) training on every rating of the tasks: metaTrain with no inner steps and the
 * whole task in the query set is ordinary minibatch regression, a minibatch being B users' ratings.
 * The fine-tuned baseline stops here; a learner with `pretrainEpochs` meta-trains from here on.
 */
export async function pretrain(
  model: RecommenderModel,
  tasks: readonly Task[],
  items: ItemCatalog,
  options: PretrainOptions,
  signal?: AbortSignal,
  onProgress?: (p: TrainProgress) => void,
): Promise<TrainResult> {
  const plain = tasks.map((task) => ({
    user: task.user,
    support: [],
    query: [...task.support, ...task.query],
  }));
  const result = await metaTrain(
    model,
    plain,
    items,
    { algorithm: 'fomaml', innerSteps: 0, innerLr: 0.01, ...options },
    onProgress,
    signal,
  );
  if (result.aborted) throw stopError(signal, 'training interrupted');
  return result;
}
