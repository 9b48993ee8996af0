import type { ServiceDefinition } from '@grpc/grpc-js';
import { FeatureStoreServiceService } from './gen/warmstart/v1/feature_store';
import { ModelRegistryServiceService } from './gen/warmstart/v1/model_registry';
import { RecommenderServiceService } from './gen/warmstart/v1/recommender';

/** The protobuf package of every warmstart service. */
export const PROTO_PACKAGE = 'warmstart.v1';

/** Fully-qualified service names, as used by health checks and reflection. */
export const SERVICE_NAMES = {
  featureStore: `${PROTO_PACKAGE}.FeatureStoreService`,
  recommender: `${PROTO_PACKAGE}.RecommenderService`,
  modelRegistry: `${PROTO_PACKAGE}.ModelRegistryService`,
} as const;

/**
 * A grpc-js package definition built from the ts-proto codecs (not from proto-loader), so a
 * server and its clients exchange exactly the generated TypeScript shapes.
 */
export const packageDefinition: Record<string, ServiceDefinition> = {
  [SERVICE_NAMES.featureStore]: FeatureStoreServiceService as unknown as ServiceDefinition,
  [SERVICE_NAMES.recommender]: RecommenderServiceService as unknown as ServiceDefinition,
  [SERVICE_NAMES.modelRegistry]: ModelRegistryServiceService as unknown as ServiceDefinition,
};
