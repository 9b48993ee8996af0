import {
  ItemStatus,
  ModelStatus,
  toTimestamp,
  type Item,
  type ModelVersion,
  type RecommendResponse,
  type ScoreResponse,
  type User,
} from '@warmstart/contracts';
import type { Recommendation, Scores } from '../recommend/results';
import type {
  ModelStatus as PortModelStatus,
  ModelVersionRecord,
  StoredItem,
  StoredUser,
} from '../ports/store.port';
import { fromFeatureRecord } from '../validation/fields';

const ts = (d: Date | undefined) => (d ? toTimestamp(d) : undefined);

export function toProtoUser(u: StoredUser): User {
  return {
    id: u.id,
    features: fromFeatureRecord(u.features),
    createdAt: ts(u.createdAt),
    updatedAt: ts(u.updatedAt),
  };
}

export function toProtoItem(i: StoredItem): Item {
  return {
    id: i.id,
    features: fromFeatureRecord(i.features),
    availableAt: ts(i.availableAt),
    status: i.status === 'retired' ? ItemStatus.ITEM_STATUS_RETIRED : ItemStatus.ITEM_STATUS_ACTIVE,
    createdAt: ts(i.createdAt),
    updatedAt: ts(i.updatedAt),
  };
}

const STATUS_TO_PROTO: Record<PortModelStatus, ModelStatus> = {
  candidate: ModelStatus.MODEL_STATUS_CANDIDATE,
  promoted: ModelStatus.MODEL_STATUS_PROMOTED,
  retired: ModelStatus.MODEL_STATUS_RETIRED,
};

export function modelStatusFromProto(s: ModelStatus): PortModelStatus | undefined {
  const entry = Object.entries(STATUS_TO_PROTO).find(([, v]) => v === s);
  return entry?.[0] as PortModelStatus | undefined;
}

export function toProtoModel(m: ModelVersionRecord): ModelVersion {
  return {
    modelId: m.modelId,
    version: m.version,
    status: STATUS_TO_PROTO[m.status],
    algorithm: m.algorithm,
    artifactUri: m.artifactUri,
    metrics: { ...m.metrics },
    dataWatermark: ts(m.dataWatermark),
    createdAt: ts(m.createdAt),
    promotedAt: ts(m.promotedAt),
    runId: m.runId ?? '',
  };
}

/** Recommend's reply (the result's shape is the proto's; the copy keeps the two independent). */
export function toRecommendResponse(r: Recommendation): RecommendResponse {
  return {
    items: r.items.map((i) => ({ itemId: i.itemId, score: i.score, coldItem: i.coldItem })),
    model: { modelId: r.model.modelId, version: r.model.version },
    supportSize: r.supportSize,
    adaptedFromCache: r.adaptedFromCache,
  };
}

/** Score's reply. */
export function toScoreResponse(r: Scores): ScoreResponse {
  return {
    items: r.items.map((i) => ({ itemId: i.itemId, score: i.score, coldItem: i.coldItem })),
    model: { modelId: r.model.modelId, version: r.model.version },
    supportSize: r.supportSize,
  };
}
