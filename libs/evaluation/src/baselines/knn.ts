/**
 * Shrinkage of the kNN rating predictors: a query item's residual is sum(sim * residual) /
 * (sum(sim) + KNN_SHRINK), so a few weakly similar neighbours move the prediction only a little.
 */
export const KNN_SHRINK = 1;
