import type { ItemRecord } from '../data/types';

/** One content column of an item: `field=value`, with its weight in the item's row. */
export interface ContentKey {
  key: string;
  value: number;
}

/**
 * An item's categorical content as indicator columns: one per (field, value); a multi-valued field
 * (genres) spreads 1/n over its n values. Numeric and missing fields give no column.
 */
export function contentKeys(item: ItemRecord): ContentKey[] {
  const out: ContentKey[] = [];
  for (const [field, raw] of Object.entries(item.features)) {
    if (typeof raw === 'string') out.push({ key: `${field}=${raw}`, value: 1 });
    else if (Array.isArray(raw) && raw.length > 0) {
      for (const v of raw as readonly string[]) out.push({ key: `${field}=${v}`, value: 1 / raw.length });
    }
  }
  return out;
}

/** Whether an item has any categorical content column. */
export function hasContent(item: ItemRecord | undefined): boolean {
  return item !== undefined && contentKeys(item).length > 0;
}

/**
 * Column indices for the content keys of `items`, in order of first appearance. Up to `maxColumns`
 * distinct keys are all kept; beyond that (e.g. a title field, nearly one value per item) only the
 * `maxColumns` keys shared by the most items, and by at least two (a key of one item cannot carry
 * anything to another item), so the regressions' dense normal equations stay small.
 */
export function contentVocabulary(items: Iterable<ItemRecord>, maxColumns = 512): Map<string, number> {
  const df = new Map<string, number>();
  for (const item of items) {
    for (const key of new Set(contentKeys(item).map((k) => k.key))) df.set(key, (df.get(key) ?? 0) + 1);
  }
  let keys = [...df.keys()];
  if (keys.length > maxColumns) {
    const order = new Map(keys.map((k, i) => [k, i]));
    const kept = new Set(
      keys
        .filter((k) => df.get(k)! >= 2)
        .sort((a, b) => df.get(b)! - df.get(a)! || order.get(a)! - order.get(b)!)
        .slice(0, maxColumns),
    );
    keys = keys.filter((k) => kept.has(k));
  }
  return new Map(keys.map((k, i) => [k, i]));
}
