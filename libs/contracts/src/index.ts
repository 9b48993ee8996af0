/**
 * @warmstart/contracts: TypeScript generated from proto/warmstart/v1 by buf + ts-proto.
 *
 * - Messages: plain interfaces with `encode`/`decode`/`fromPartial` codecs.
 * - `*Service` objects are grpc-js `ServiceDefinition`s (for `server.addService` or a NestJS
 *   `packageDefinition`); `*Client` constructors are typed grpc-js clients.
 * - {@link packageDefinition} maps fully-qualified service names to those definitions.
 *
 * Regenerate with `npm run contracts:generate` after editing proto/.
 */
export * from './gen/warmstart/v1/common';
export * from './gen/warmstart/v1/feature_store';
export * from './gen/warmstart/v1/recommender';
export * from './gen/warmstart/v1/model_registry';
export { Timestamp } from './gen/google/protobuf/timestamp';
export * from './package-definition';
export * from './timestamps';
export * from './controller-types';
