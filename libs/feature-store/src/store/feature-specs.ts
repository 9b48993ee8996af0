import type { Db } from '../db/client';
import { ValidationError } from '../errors';

/** One stored feature spec version (the JSON of core's `FeatureSpec.toJSON()`). */
export interface FeatureSpecVersionRecord {
  name: string;
  version: number;
  spec: unknown;
  createdAt: Date;
}

/** Versioned feature specs, by name. */
export class FeatureSpecs {
  constructor(private readonly db: Db) {}

  /** Stores `spec` as the next version of `name` (or returns the latest if it is identical). */
  async save(name: string, spec: unknown): Promise<FeatureSpecVersionRecord> {
    if (typeof name !== 'string' || name === '')
      throw new ValidationError('name', 'must be a non-empty string');
    if (spec === null || typeof spec !== 'object') throw new ValidationError('spec', 'must be a JSON object');
    const latest = await this.latest(name);
    if (latest && canonical(latest.spec) === canonical(spec)) return latest;
    const row = await this.db.featureSpecVersion.create({
      data: { name, version: (latest?.version ?? 0) + 1, spec: spec as object },
    });
    return { name: row.name, version: row.version, spec: row.spec, createdAt: row.createdAt };
  }

  async latest(name: string): Promise<FeatureSpecVersionRecord | null> {
    const row = await this.db.featureSpecVersion.findFirst({ where: { name }, orderBy: { version: 'desc' } });
    return row && { name: row.name, version: row.version, spec: row.spec, createdAt: row.createdAt };
  }

  async get(name: string, version: number): Promise<FeatureSpecVersionRecord | null> {
    const row = await this.db.featureSpecVersion.findUnique({ where: { name_version: { name, version } } });
    return row && { name: row.name, version: row.version, spec: row.spec, createdAt: row.createdAt };
  }
}

/** JSON with sorted object keys (PostgreSQL jsonb does not keep key order). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}
