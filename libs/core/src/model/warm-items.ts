/**
 * Warmed ID representations by item id: `idDim + 1` values each (the ID embedding, then the item's
 * ID bias), for a model with ID embeddings. Pass them to `model.encodeItems(items, { warmItems })`
 * and `adapt(..., { warmItems })` so candidates and support items use them. Rows belong to the
 * model (and parameters) they were computed with.
 */
export type WarmItemIds = ReadonlyMap<string, Float32Array>;
