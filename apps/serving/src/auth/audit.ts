import type { Logger } from 'pino';
import { scopeOf } from './scopes';

/** Counts of an admin or ingest call, never feature values or credentials. */
export type AuditCounts = Record<string, number | string>;

const len = (v: unknown) => (Array.isArray(v) ? v.length : 0);
const modelLabel = (m: unknown) => {
  const model = m as { modelId?: string; version?: number } | undefined;
  return model?.modelId ? `${model.modelId.slice(0, 128)}@${model.version}` : undefined;
};

/** What an audit line says about a request and its reply, per RPC. */
export function auditCounts(rpc: string, request: unknown, reply: unknown): AuditCounts {
  const req = (request ?? {}) as Record<string, unknown>;
  const res = (reply ?? {}) as Record<string, unknown>;
  const out: AuditCounts = {};
  const put = (key: string, value: number | string | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  switch (rpc) {
    case 'FeatureStoreService/UpsertUsers':
      put('rows', len(req['users']));
      put('upserted', res['upsertedCount'] as number | undefined);
      break;
    case 'FeatureStoreService/UpsertItems':
      put('rows', len(req['items']));
      put('upserted', res['upsertedCount'] as number | undefined);
      break;
    case 'FeatureStoreService/IngestInteractions':
      put('rows', len(req['interactions']));
      put('ingested', res['ingestedCount'] as number | undefined);
      put('duplicates', res['duplicateCount'] as number | undefined);
      break;
    case 'ModelRegistryService/ListModels':
      put('models', reply === undefined ? undefined : len(res['models']));
      break;
    default:
      // GetModel, PromoteModel, RollbackModel: which model was asked for and which one serves now.
      if (typeof req['modelId'] === 'string' && req['modelId'] !== '')
        put('requested', (req['modelId'] as string).slice(0, 128));
      put('model', modelLabel(res['model']));
      put('previous', modelLabel(res['previous']));
  }
  return out;
}

/**
 * One `audit` log line per admin or ingest call, whatever its outcome (refused ones included):
 * the principal (token name or certificate subject), the RPC, the status and counts. Written at
 * info level even when the server logs only warnings (`--log-level silent` silences it too).
 */
export class AuditLog {
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log.child({ audit: true }, { level: log.level === 'silent' ? 'silent' : 'info' });
  }

  /** Whether calls of this gRPC path are audited. */
  static covers(path: string): boolean {
    const scope = scopeOf(path);
    return scope === 'ingest' || scope === 'admin';
  }

  record(line: { principal: string; rpc: string; status: string; counts?: AuditCounts }): void {
    this.log.info({ principal: line.principal, rpc: line.rpc, status: line.status, ...line.counts }, 'audit');
  }
}
