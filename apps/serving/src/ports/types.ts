/**
 * Value types the server exchanges with its ports. They mirror docs/internal-api.md
 * (@warmstart/core types); kept local so the server's logic does not depend on how the
 * libraries spell optional details.
 */
export type FeatureValue = string | readonly string[] | number | null | undefined;
export type FeatureRecord = Readonly<Record<string, FeatureValue>>;

export interface UserRecord {
  id: string;
  features: FeatureRecord;
}

export interface ItemRecord {
  id: string;
  features: FeatureRecord;
  availableAt?: Date;
}

export interface Rating {
  itemId: string;
  value: number;
  time?: Date;
}

export interface ModelRef {
  modelId: string;
  version: number;
}
