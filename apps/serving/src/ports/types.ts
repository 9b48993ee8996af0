/** Value types the server exchanges with its ports: the shared ones come from @warmstart/core. */
export type { FeatureValue, FeatureRecord, UserRecord, ItemRecord, Rating } from '@warmstart/core';

/** The model version a reply was produced with. */
export interface ModelRef {
  modelId: string;
  version: number;
}
