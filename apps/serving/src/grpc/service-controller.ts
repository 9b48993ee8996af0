import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import type { UnaryController } from '@warmstart/contracts';

/** Drops index signatures, keeping only the named keys. */
type KnownKeys<T> = { [K in keyof T as string extends K ? never : K]: T[K] };

/**
 * The contracts' `UnaryController<S>` without the `[name: string]` index signature that
 * grpc-js's `UntypedServiceImplementation` brings along (a class cannot implement it).
 */
export type ServiceController<S extends UntypedServiceImplementation> = KnownKeys<UnaryController<S>>;
