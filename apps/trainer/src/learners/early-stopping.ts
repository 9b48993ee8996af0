import type { ModelSnapshot, RecommenderModel } from '@warmstart/core';

/**
 * Early stopping on a validation score (lower is better): remembers the weights of the best epoch,
 * asks to stop after `patience` epochs without improvement, and puts the best weights back.
 * Meta-training on MovieLens-100K overfits the warm-train users after one to three epochs, so the
 * epoch count is chosen on the warm validation users like everything else.
 */
export class EarlyStopping {
  private best?: { epoch: number; score: number; weights: ModelSnapshot };

  constructor(
    private readonly model: RecommenderModel,
    private readonly patience: number,
  ) {}

  /** Records epoch `epoch`'s score; `'stop'` once `patience` epochs passed without improvement. */
  observe(epoch: number, score: number): 'stop' | void {
    if (!this.best || score < this.best.score) {
      this.best = { epoch, score, weights: this.model.snapshot() };
      return;
    }
    if (epoch - this.best.epoch >= this.patience) return 'stop';
  }

  /** Restores the best epoch's weights (if any epoch was observed) and says which it was. */
  finish(): { epoch: number; score: number } | undefined {
    if (!this.best) return undefined;
    this.model.restore(this.best.weights);
    return { epoch: this.best.epoch, score: this.best.score };
  }
}
