import type { FeatureRecord, FeatureValue } from '../types';

/** One stored feature value (a row of user_features / item_features without entity and validity). */
export interface FeatureRow {
  field: string;
  /** "string" | "number" | "list" | "null" */
  kind: string;
  position: number;
  text: string | null;
  number: number | null;
}

/** Encodes features as typed rows: one per scalar, one per list element (position -1 = empty list). */
export function encodeFeatures(features: FeatureRecord): FeatureRow[] {
  const rows: FeatureRow[] = [];
  for (const field of Object.keys(features).sort()) {
    const value: FeatureValue = features[field];
    if (value === undefined) continue;
    if (value === null) rows.push({ field, kind: 'null', position: 0, text: null, number: null });
    else if (typeof value === 'string')
      rows.push({ field, kind: 'string', position: 0, text: value, number: null });
    else if (typeof value === 'number')
      rows.push({ field, kind: 'number', position: 0, text: null, number: value });
    else if (value.length === 0) rows.push({ field, kind: 'list', position: -1, text: null, number: null });
    else value.forEach((text, position) => rows.push({ field, kind: 'list', position, text, number: null }));
  }
  return rows;
}

/** Rebuilds a FeatureRecord from its rows (any order). */
export function decodeFeatures(rows: readonly FeatureRow[]): FeatureRecord {
  const out: Record<string, FeatureValue> = {};
  const lists = new Map<string, { position: number; text: string }[]>();
  for (const r of rows) {
    if (r.kind === 'string') out[r.field] = r.text ?? '';
    else if (r.kind === 'number') out[r.field] = r.number ?? null;
    else if (r.kind === 'null') out[r.field] = null;
    else if (r.kind === 'list') {
      const list = lists.get(r.field) ?? [];
      if (r.position >= 0 && r.text !== null) list.push({ position: r.position, text: r.text });
      lists.set(r.field, list);
    }
  }
  for (const [field, list] of lists)
    out[field] = list.sort((a, b) => a.position - b.position).map((e) => e.text);
  return out;
}

/** Canonical string of a feature set, to detect whether an upsert changes anything. */
export function featureKey(rows: readonly FeatureRow[]): string {
  return JSON.stringify(
    [...rows]
      .sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : a.position - b.position))
      .map((r) => [r.field, r.kind, r.position, r.text, r.number]),
  );
}
