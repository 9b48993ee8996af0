import type { ModelRef } from '../ports/types';

/** One candidate in a result: its score and whether the model scored it from content only. */
export interface ScoredCandidate {
  itemId: string;
  /** The predicted rating (rating models, rankers included) or the implicit model's score. */
  score: number;
  /** The model had no ID row for the item (a new item: content, plus warm-up rows if any). */
  coldItem: boolean;
}

/** What RecommendService.recommend answers (the controller maps it to the proto reply). */
export interface Recommendation {
  items: ScoredCandidate[];
  model: ModelRef;
  supportSize: number;
  adaptedFromCache: boolean;
}

/** What RecommendService.score answers: one entry per requested id, in request order. */
export interface Scores {
  items: ScoredCandidate[];
  model: ModelRef;
  supportSize: number;
}
