// Shared value types of docs/internal-api.md. They mirror @warmstart/core's src/types.ts
// (structurally identical, so values flow between the packages); declared here until core exports them.

/** A raw feature value as stored or sent: one category, several, a number, or absent. */
export type FeatureValue = string | readonly string[] | number | null | undefined;
/** Raw features of one user or one item, keyed by field name. */
export type FeatureRecord = Readonly<Record<string, FeatureValue>>;

/** A user with raw features. */
export interface UserRecord {
  id: string;
  features: FeatureRecord;
}

/** An item with raw (content) features. */
export interface ItemRecord {
  id: string;
  features: FeatureRecord;
  availableAt?: Date;
}

/** One interaction as the model sees it. */
export interface Rating {
  itemId: string;
  value: number;
  time?: Date;
}

/** One few-shot task: a user, the support set it adapts on, the query set it is scored on. */
export interface Task {
  user: UserRecord;
  support: Rating[];
  query: Rating[];
}
