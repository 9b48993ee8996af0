/** What a credential may do. Every warmstart RPC needs exactly one of these. */
export const SCOPES = ['recommend', 'ingest', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

const SERVICE_SCOPES: Record<string, (method: string) => Scope> = {
  'warmstart.v1.RecommenderService': () => 'recommend',
  'warmstart.v1.FeatureStoreService': (method) =>
    method === 'UpsertUsers' || method === 'UpsertItems' || method === 'IngestInteractions'
      ? 'ingest'
      : 'recommend',
  'warmstart.v1.ModelRegistryService': () => 'admin',
};

/** A gRPC path's service and method (`/warmstart.v1.FeatureStoreService/GetUsers`). */
export function splitPath(path: string): { service: string; method: string } {
  const [, service = '', method = ''] = /^\/([^/]*)\/(.*)$/.exec(path) ?? [];
  return { service, method };
}

/**
 * The scope a call needs; undefined for what every caller may use without a credential
 * (grpc.health.v1, server reflection).
 */
export function scopeOf(path: string): Scope | undefined {
  const { service, method } = splitPath(path);
  return SERVICE_SCOPES[service]?.(method);
}

/** `FeatureStoreService/GetUsers`: the name logs and errors use. */
export function rpcName(path: string): string {
  return path.replace(/^\/warmstart\.v1\./, '').replace(/^\//, '');
}
