import type { RatingEvent, Task } from '../data/types';

/** One user's interactions: an item id and its value (a rating, or 1 for implicit feedback). */
export interface InteractionRow {
  userId: string;
  ratings: readonly { itemId: string; value: number }[];
}

/**
 * A sparse user x item matrix in both orientations (CSR by user, CSC by item), with dense integer
 * indices for users and items. A user's repeated interactions with one item count once (the last
 * value wins). Item indices follow first appearance, so an index extended with more rows
 * (`withEvidence`) keeps every existing user and item at its index.
 */
export class InteractionIndex {
  readonly itemIndex: Map<string, number>;
  readonly userIndex: Map<string, number>;
  /** Row `u` holds entries rowPtr[u] .. rowPtr[u+1]-1 of rowItems / rowValues. */
  readonly rowPtr: Int32Array;
  readonly rowItems: Int32Array;
  readonly rowValues: Float32Array;
  /** Column `i` holds entries colPtr[i] .. colPtr[i+1]-1 of colUsers / colValues. */
  readonly colPtr: Int32Array;
  readonly colUsers: Int32Array;
  readonly colValues: Float32Array;

  private constructor(
    readonly userIds: readonly string[],
    readonly itemIds: readonly string[],
    private readonly rows: readonly Map<number, number>[],
  ) {
    this.itemIndex = new Map(itemIds.map((id, i) => [id, i]));
    this.userIndex = new Map(userIds.map((id, u) => [id, u]));
    const nnz = rows.reduce((s, r) => s + r.size, 0);
    this.rowPtr = new Int32Array(userIds.length + 1);
    this.rowItems = new Int32Array(nnz);
    this.rowValues = new Float32Array(nnz);
    const counts = new Int32Array(itemIds.length);
    let e = 0;
    rows.forEach((row, u) => {
      this.rowPtr[u] = e;
      for (const [item, value] of [...row].sort((a, b) => a[0] - b[0])) {
        this.rowItems[e] = item;
        this.rowValues[e++] = value;
        counts[item]++;
      }
    });
    this.rowPtr[userIds.length] = e;
    this.colPtr = new Int32Array(itemIds.length + 1);
    for (let i = 0; i < itemIds.length; i++) this.colPtr[i + 1] = this.colPtr[i] + counts[i];
    this.colUsers = new Int32Array(nnz);
    this.colValues = new Float32Array(nnz);
    const fill = this.colPtr.slice(0, itemIds.length);
    for (let u = 0; u < userIds.length; u++) {
      for (let k = this.rowPtr[u]; k < this.rowPtr[u + 1]; k++) {
        const at = fill[this.rowItems[k]]++;
        this.colUsers[at] = u;
        this.colValues[at] = this.rowValues[k];
      }
    }
  }

  /** Rows with the same user id are merged into one. */
  static fromRows(rows: readonly InteractionRow[]): InteractionIndex {
    return new InteractionIndex([], [], []).extended(rows);
  }

  /** The warm training matrix: support and query of every training task. */
  static fromTasks(tasks: readonly Task[]): InteractionIndex {
    return InteractionIndex.fromRows(
      tasks.map((t) => ({ userId: t.user.id, ratings: [...t.support, ...t.query] })),
    );
  }

  /** This matrix plus `evidence` (merged into existing users' rows by user id; new users and items appended). */
  withEvidence(evidence: readonly RatingEvent[]): InteractionIndex {
    const byUser = new Map<string, { itemId: string; value: number }[]>();
    for (const e of evidence) {
      const list = byUser.get(e.userId);
      if (list) list.push(e);
      else byUser.set(e.userId, [e]);
    }
    return this.extended([...byUser].map(([userId, ratings]) => ({ userId, ratings })));
  }

  get users(): number {
    return this.userIds.length;
  }

  get items(): number {
    return this.itemIds.length;
  }

  /** How many users interacted with item `i`. */
  count(i: number): number {
    return this.colPtr[i + 1] - this.colPtr[i];
  }

  private extended(extra: readonly InteractionRow[]): InteractionIndex {
    const userIds = [...this.userIds];
    const itemIds = [...this.itemIds];
    const userIndex = new Map(this.userIndex);
    const itemIndex = new Map(this.itemIndex);
    const rows = this.rows.map((r) => new Map(r));
    for (const { userId, ratings } of extra) {
      let u = userIndex.get(userId);
      if (u === undefined) {
        u = userIds.length;
        userIds.push(userId);
        userIndex.set(userId, u);
        rows.push(new Map());
      }
      const row = rows[u];
      for (const { itemId, value } of ratings) {
        let i = itemIndex.get(itemId);
        if (i === undefined) {
          i = itemIds.length;
          itemIds.push(itemId);
          itemIndex.set(itemId, i);
        }
        row.delete(i); // the last value wins
        row.set(i, value);
      }
    }
    return new InteractionIndex(userIds, itemIds, rows);
  }
}
