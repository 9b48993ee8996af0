/**
 * The nesting of warmstart's request messages, enough to name the field where decoding failed:
 * sub-messages and the int64 of google.protobuf.Timestamp (the only 64-bit integer clients send).
 * Scalars and strings not listed are skipped by wire type. `test/decode-guard.spec.ts` checks it
 * against the .proto files.
 */
export type FieldSpec =
  { name: string; kind: 'message'; type: string; repeated?: boolean } | { name: string; kind: 'int64' };

export const MESSAGES: Record<string, Record<number, FieldSpec>> = {
  'google.protobuf.Timestamp': { 1: { name: 'seconds', kind: 'int64' } },
  'warmstart.v1.StringList': {},
  'warmstart.v1.FeatureValue': {
    2: { name: 'multi_categorical', kind: 'message', type: 'warmstart.v1.StringList' },
  },
  'warmstart.v1.FeaturesEntry': { 2: { name: 'value', kind: 'message', type: 'warmstart.v1.FeatureValue' } },
  'warmstart.v1.User': {
    2: { name: 'features', kind: 'message', type: 'warmstart.v1.FeaturesEntry', repeated: true },
    3: { name: 'created_at', kind: 'message', type: 'google.protobuf.Timestamp' },
    4: { name: 'updated_at', kind: 'message', type: 'google.protobuf.Timestamp' },
  },
  'warmstart.v1.Item': {
    2: { name: 'features', kind: 'message', type: 'warmstart.v1.FeaturesEntry', repeated: true },
    3: { name: 'available_at', kind: 'message', type: 'google.protobuf.Timestamp' },
    5: { name: 'created_at', kind: 'message', type: 'google.protobuf.Timestamp' },
    6: { name: 'updated_at', kind: 'message', type: 'google.protobuf.Timestamp' },
  },
  'warmstart.v1.Interaction': {
    6: { name: 'event_time', kind: 'message', type: 'google.protobuf.Timestamp' },
  },
  'warmstart.v1.PageRequest': {},
  'warmstart.v1.UpsertUsersRequest': {
    1: { name: 'users', kind: 'message', type: 'warmstart.v1.User', repeated: true },
  },
  'warmstart.v1.UpsertItemsRequest': {
    1: { name: 'items', kind: 'message', type: 'warmstart.v1.Item', repeated: true },
  },
  'warmstart.v1.IngestInteractionsRequest': {
    1: { name: 'interactions', kind: 'message', type: 'warmstart.v1.Interaction', repeated: true },
  },
  'warmstart.v1.GetUsersRequest': {},
  'warmstart.v1.GetItemsRequest': {},
  'warmstart.v1.ListNewItemsRequest': {
    1: { name: 'since', kind: 'message', type: 'google.protobuf.Timestamp' },
    2: { name: 'page', kind: 'message', type: 'warmstart.v1.PageRequest' },
  },
  'warmstart.v1.SupportInteraction': {
    3: { name: 'event_time', kind: 'message', type: 'google.protobuf.Timestamp' },
  },
  'warmstart.v1.UserContext': {
    2: { name: 'features', kind: 'message', type: 'warmstart.v1.FeaturesEntry', repeated: true },
    3: { name: 'support', kind: 'message', type: 'warmstart.v1.SupportInteraction', repeated: true },
  },
  'warmstart.v1.ItemIdList': {},
  'warmstart.v1.AllActiveItems': {},
  'warmstart.v1.Candidates': {
    1: { name: 'item_ids', kind: 'message', type: 'warmstart.v1.ItemIdList' },
    2: { name: 'available_since', kind: 'message', type: 'google.protobuf.Timestamp' },
    3: { name: 'all_active', kind: 'message', type: 'warmstart.v1.AllActiveItems' },
  },
  'warmstart.v1.RecommendRequest': {
    1: { name: 'user', kind: 'message', type: 'warmstart.v1.UserContext' },
    2: { name: 'candidates', kind: 'message', type: 'warmstart.v1.Candidates' },
  },
  'warmstart.v1.ScoreRequest': {
    1: { name: 'user', kind: 'message', type: 'warmstart.v1.UserContext' },
  },
  'warmstart.v1.ListModelsRequest': {
    1: { name: 'page', kind: 'message', type: 'warmstart.v1.PageRequest' },
  },
  'warmstart.v1.GetModelRequest': {},
  'warmstart.v1.PromoteModelRequest': {},
  'warmstart.v1.RollbackModelRequest': {},
};

/** The request message of each warmstart method path. */
export const REQUEST_TYPES: Record<string, string> = {
  '/warmstart.v1.FeatureStoreService/UpsertUsers': 'warmstart.v1.UpsertUsersRequest',
  '/warmstart.v1.FeatureStoreService/UpsertItems': 'warmstart.v1.UpsertItemsRequest',
  '/warmstart.v1.FeatureStoreService/IngestInteractions': 'warmstart.v1.IngestInteractionsRequest',
  '/warmstart.v1.FeatureStoreService/GetUsers': 'warmstart.v1.GetUsersRequest',
  '/warmstart.v1.FeatureStoreService/GetItems': 'warmstart.v1.GetItemsRequest',
  '/warmstart.v1.FeatureStoreService/ListNewItems': 'warmstart.v1.ListNewItemsRequest',
  '/warmstart.v1.RecommenderService/Recommend': 'warmstart.v1.RecommendRequest',
  '/warmstart.v1.RecommenderService/Score': 'warmstart.v1.ScoreRequest',
  '/warmstart.v1.ModelRegistryService/ListModels': 'warmstart.v1.ListModelsRequest',
  '/warmstart.v1.ModelRegistryService/GetModel': 'warmstart.v1.GetModelRequest',
  '/warmstart.v1.ModelRegistryService/PromoteModel': 'warmstart.v1.PromoteModelRequest',
  '/warmstart.v1.ModelRegistryService/RollbackModel': 'warmstart.v1.RollbackModelRequest',
};
