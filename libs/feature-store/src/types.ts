// The shared value types of docs/internal-api.md come from @warmstart/core (type-only imports:
// erased at runtime, so the store never loads TensorFlow.js).
export type { FeatureRecord, FeatureValue, ItemRecord, Rating, Task, UserRecord } from '@warmstart/core';
