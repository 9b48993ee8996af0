import { existsSync } from 'node:fs';
import * as path from 'node:path';
import type { Server } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from 'pino';

const PROTO_FILES = [
  'warmstart/v1/common.proto',
  'warmstart/v1/feature_store.proto',
  'warmstart/v1/model_registry.proto',
  'warmstart/v1/recommender.proto',
];

/** grpc.health.v1 is served too, so reflection describes it from grpc-health-check's own proto. */
const HEALTH_PROTO = 'health/v1/health.proto';
const healthProtoDir = () =>
  path.join(path.dirname(require.resolve('grpc-health-check/package.json')), 'proto');

/** The repo's proto/ directory: src/grpc and dist/grpc both sit four levels below the repo root. */
export function defaultProtoDir(): string {
  return process.env['WARMSTART_PROTO_DIR'] ?? path.resolve(__dirname, '../../../../proto');
}

/**
 * Server reflection (grpcurl, grpcui). Descriptors come from the .proto sources with
 * proto-loader; request handling itself uses the ts-proto codecs.
 */
export function addReflection(server: Server, log: Logger, protoDir = defaultProtoDir()): boolean {
  if (!existsSync(path.join(protoDir, PROTO_FILES[0] as string))) {
    log.warn({ protoDir }, 'proto sources not found: server reflection disabled (set WARMSTART_PROTO_DIR)');
    return false;
  }
  const definition = loadSync([...PROTO_FILES, HEALTH_PROTO], { includeDirs: [protoDir, healthProtoDir()] });
  new ReflectionService(definition).addToServer(server);
  return true;
}
