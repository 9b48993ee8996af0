import type { Metadata, handleUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';

/**
 * The promise-returning shape of a generated grpc-js server interface, as a NestJS gRPC
 * controller implements it: `class RecommenderController implements
 * UnaryController<RecommenderServiceServer>`. Method names stay camelCase as ts-proto emits
 * them; the decorator names the proto method. grpc-js's `[name: string]` index signature is
 * dropped so that a class can implement the type.
 */
export type UnaryController<S extends UntypedServiceImplementation> = {
  [K in keyof S as string extends K ? never : K]: S[K] extends handleUnaryCall<infer Req, infer Res>
    ? (request: Req, metadata?: Metadata) => Promise<Res>
    : never;
};
