import type { RecommenderModel } from '../model/model';
import { ItemNeighbours } from './item-neighbours';

/** One interaction: a user and an item (its value does not matter: co-occurrence is binary). */
export interface Interaction {
  userId: string;
  itemId: string;
}

/**
 * Item-kNN neighbours of `model`'s items from `interactions` (a user's repeated interactions with
 * an item count once; items without an ID row in the model are skipped), indexed by the model's
 * item ID rows (size items + 1, row 0 empty): what {@link setNeighbourhood} takes. `maxK`
 * neighbours per item at most.
 */
export function buildItemNeighbours(
  model: RecommenderModel,
  interactions: Iterable<Interaction>,
  maxK: number,
): ItemNeighbours {
  const size = model.itemIdIndex.size + 1;
  const byUser = new Map<string, Set<number>>();
  for (const { userId, itemId } of interactions) {
    const row = model.itemIdIndex.get(itemId);
    if (row === undefined) continue;
    let items = byUser.get(userId);
    if (!items) byUser.set(userId, (items = new Set()));
    items.add(row);
  }
  const rows = [...byUser.values()];
  const rowPtr = new Int32Array(rows.length + 1);
  rows.forEach((r, u) => (rowPtr[u + 1] = (rowPtr[u] as number) + r.size));
  const rowItems = new Int32Array(rowPtr[rows.length] as number);
  const counts = new Int32Array(size + 1);
  rows.forEach((r, u) => {
    let at = rowPtr[u] as number;
    for (const i of r) {
      rowItems[at++] = i;
      counts[i + 1]++;
    }
  });
  const colPtr = new Int32Array(size + 1);
  for (let i = 0; i < size; i++) colPtr[i + 1] = (colPtr[i] as number) + (counts[i + 1] as number);
  const colUsers = new Int32Array(rowItems.length);
  const fill = colPtr.slice(0, size);
  rows.forEach((_, u) => {
    for (let e = rowPtr[u] as number; e < (rowPtr[u + 1] as number); e++)
      colUsers[fill[rowItems[e] as number]!++] = u;
  });
  return ItemNeighbours.build({ rowPtr, rowItems, colPtr, colUsers }, maxK);
}
