import {
  adapt,
  AdaptedUsers,
  EncodedItems,
  foldInItemsFromHistories,
  rankingSupport,
  rankShortlist,
  firstStageIsExact,
  score,
  scoreBatch,
  supportsClosedFormHead,
  rankerEvidence,
  warmUpItems,
  type AdaptSettings,
  type RecommenderModel,
} from '@warmstart/core';
import type {
  AdaptInput,
  AdaptedUser,
  EncodedItemSet,
  EvidenceHistories,
  ItemPick,
  ItemWarmUp,
  ModelRuntime,
  ServingModel,
  ShortlistEntry,
} from '../ports/model-runtime.port';
import type { ItemRecord, ModelRef } from '../ports/types';
import type { WarmUpThread } from './warmup-thread';

/** Loads an artifact directory into a model (core's `loadModel`, which verifies checksums). */
export type ModelLoader = (artifactDir: string) => Promise<RecommenderModel>;

/** The ModelRuntime port over @warmstart/core: batched `adapt`, encoded items, per-user `score`. */
export class CoreModelRuntime implements ModelRuntime {
  /**
   * @param adaptOptions overrides of every model's own adaptation settings (`adaptDefaults`).
   * @param warmUpThread where item warm-up runs (the server passes a worker thread); without
   *   one it runs on the calling thread.
   */
  constructor(
    private readonly loader: ModelLoader,
    private readonly adaptOptions: Partial<AdaptSettings> = {},
    private readonly warmUpThread?: WarmUpThread,
  ) {}

  /** Refuses a model the serving-wide adaptation overrides cannot adapt (a ridge head on MeLU). */
  async load(artifactDir: string, ref: ModelRef): Promise<ServingModel> {
    const model = await this.loader(artifactDir);
    const ridge = this.adaptOptions.ridge;
    if (typeof ridge === 'number' && !supportsClosedFormHead(model.config.localGroups)) {
      model.dispose();
      throw new Error(
        `model ${ref.modelId} v${ref.version} adapts more than its output head (local: ${model.config.localGroups.join(', ')}): --adapt-ridge ${ridge} needs a head-only model; unset it or use "off"`,
      );
    }
    return new CoreServingModel(model, ref, this.adaptOptions, this.warmUpThread);
  }
}

/** Items encoded by the model and, when it has a ranker, by the ranker too (same ids, same order). */
class CoreEncodedItems implements EncodedItemSet {
  constructor(
    readonly encoded: EncodedItems,
    readonly ranking: EncodedItems | null = null,
  ) {}

  get ids(): readonly string[] {
    return this.encoded.ids;
  }

  dispose(): void {
    this.encoded.dispose();
    this.ranking?.dispose();
  }
}

/** One adaptation batch: the model's adapted users and, with a ranker, the ranker's. */
interface CoreBatch {
  users: AdaptedUsers;
  ranking: AdaptedUsers | null;
  live: number;
}

/** A slice of a batched adaptation: the batch's tensors are freed when its last user is. */
class CoreAdaptedUser implements AdaptedUser {
  private released = false;

  constructor(
    readonly batch: CoreBatch,
    readonly index: number,
  ) {}

  score(items: EncodedItemSet): Float32Array {
    return score(this.batch.users, this.index, (items as CoreEncodedItems).encoded);
  }

  rank(items: EncodedItemSet): Float32Array {
    const ranking = (items as CoreEncodedItems).ranking;
    if (!this.batch.ranking || !ranking) return this.score(items);
    return score(this.batch.ranking, this.index, ranking);
  }

  /** This user's share of its batch: the batch's tensor bytes divided by its users. */
  get bytes(): number {
    const { users, ranking } = this.batch;
    return Math.ceil((users.bytes + (ranking?.bytes ?? 0)) / users.size);
  }

  detach(): AdaptedUser {
    const { users, ranking } = this.batch;
    if (users.size === 1) return this;
    const own = { users: users.user(this.index), ranking: ranking?.user(this.index) ?? null, live: 1 };
    return new CoreAdaptedUser(own, 0);
  }

  dispose(): void {
    if (this.released) return;
    this.released = true;
    this.batch.live -= 1;
    if (this.batch.live === 0) {
      this.batch.users.dispose();
      this.batch.ranking?.dispose();
    }
  }
}

/** Scores of `users` on `encoded`, users of one adaptation batch in one core scoreBatch call. */
function batchedScores(
  users: readonly AdaptedUser[],
  encoded: EncodedItems,
  adaptedOf: (batch: CoreBatch) => AdaptedUsers,
): Float32Array[] {
  const out: Float32Array[] = new Array<Float32Array>(users.length);
  const byBatch = new Map<CoreBatch, number[]>();
  users.forEach((u, i) => {
    const batch = (u as CoreAdaptedUser).batch;
    const members = byBatch.get(batch);
    if (members) members.push(i);
    else byBatch.set(batch, [i]);
  });
  const n = encoded.size;
  for (const [batch, members] of byBatch) {
    const scores = scoreBatch(
      adaptedOf(batch),
      members.map((i) => (users[i] as CoreAdaptedUser).index),
      encoded,
    );
    members.forEach((i, j) => (out[i] = scores.subarray(j * n, (j + 1) * n)));
  }
  return out;
}

/** Warm-ups whose changed ids are remembered (an encoding older than that is redone whole). */
const WARM_CHANGES_KEPT = 64;

export class CoreServingModel implements ServingModel {
  /** Warmed ID representations of new items, by id (see warmUpItems), the model's and its ranker's. */
  private readonly warm = new Map<string, Float32Array>();
  private readonly rankerWarm = new Map<string, Float32Array>();
  private version = 0;
  /** The ids each recent warm-up changed, by the version it made (see warmedSince). */
  private readonly changes: { version: number; ids: string[] }[] = [];
  private disposed = false;

  constructor(
    readonly model: RecommenderModel,
    readonly ref: ModelRef,
    private readonly adaptOptions: Partial<AdaptSettings>,
    private readonly warmUpThread?: WarmUpThread,
  ) {}

  /** The model and its ranker, where they have item ID rows to warm up. */
  private get warmable(): RecommenderModel[] {
    return [this.model, this.model.ranker].filter(
      (m): m is RecommenderModel => m !== null && m.layout.idDim > 0,
    );
  }

  get warmsItems(): boolean {
    return this.warmable.length > 0;
  }

  get foldsItems(): boolean {
    return this.warmable.some((m) => m.foldInBase !== null);
  }

  get warmVersion(): number {
    return this.version;
  }

  warmedSince(version: number): ReadonlySet<string> | undefined {
    if (version === this.version) return new Set();
    const first = this.changes[0];
    if (version > this.version || !first || first.version > version + 1) return undefined;
    const ids = new Set<string>();
    for (const c of this.changes) if (c.version > version) for (const id of c.ids) ids.add(id);
    return ids;
  }

  /**
   * Warms the model's rows and, when it has a ranker with ID rows, the ranker's: on the same
   * interactions as the ranker takes them (core rankerEvidence: each an interaction of value 1, or
   * 1 for the liked ratings and 0 for the others where the model sets a minimum). A
   * model with a user base (`foldInBase`) folds the items in from the interacting users' heads
   * instead, when their `histories` are given.
   */
  async warmUpItems(requests: readonly ItemWarmUp[], histories?: EvidenceHistories): Promise<number> {
    if (requests.length === 0 || this.disposed) return 0;
    const ranker = this.model.ranker;
    const warmed: [Map<string, Float32Array>, Map<string, Float32Array>][] = [];
    for (const model of this.warmable) {
      const own =
        model === ranker
          ? requests.map((r) => ({ ...r, interactions: rankerEvidence(this.model, r.interactions) }))
          : requests;
      const rows =
        model.foldInBase && histories
          ? await this.foldIn(model, own, histories)
          : this.warmUpThread
            ? await this.warmUpThread.warm(model, own)
            : warmUpItems(model, own);
      warmed.push([model === ranker ? this.rankerWarm : this.warm, rows]);
    }
    // Retired meanwhile: nothing encodes with this model any more.
    if (this.disposed) return 0;
    const ids = new Set<string>();
    for (const [into, rows] of warmed)
      for (const [id, row] of rows) {
        into.set(id, row);
        ids.add(id);
      }
    this.version += 1;
    this.changes.push({ version: this.version, ids: [...ids] });
    if (this.changes.length > WARM_CHANGES_KEPT) this.changes.shift();
    return Math.max(...warmed.map(([, rows]) => rows.size));
  }

  /** The fold-in of `requests`' items from their positive interactions' users and histories. */
  private foldIn(
    model: RecommenderModel,
    requests: readonly ItemWarmUp[],
    { histories, items }: EvidenceHistories,
  ): Promise<Map<string, Float32Array>> | Map<string, Float32Array> {
    const own = requests.map((r) => ({
      item: r.item,
      users: r.interactions
        .filter((x) => x.value > 0)
        .map((x) => ({ user: x.user, history: histories.get(x.user.id) ?? [] })),
    }));
    return this.warmUpThread
      ? this.warmUpThread.foldIn(model, own, items)
      : foldInItemsFromHistories(model, own, items);
  }

  get task(): 'rating' | 'implicit' {
    return this.model.config.task;
  }

  get ratingRange(): readonly [number, number] {
    return this.model.config.ratingRange;
  }

  /** Items with a learned ID embedding were in the training data; others are scored from content. */
  isKnownItem(itemId: string): boolean {
    return this.model.itemIdIndex.has(itemId);
  }

  get ranks(): boolean {
    return this.model.ranker !== null;
  }

  encodeItems(items: ItemRecord[]): EncodedItemSet {
    const encoded = this.model.encodeItems(items, { warmItems: this.warm });
    try {
      return new CoreEncodedItems(
        encoded,
        this.model.ranker?.encodeItems(items, { warmItems: this.rankerWarm }) ?? null,
      );
    } catch (err) {
      encoded.dispose();
      throw err;
    }
  }

  selectItems(picks: readonly ItemPick[]): EncodedItemSet {
    const sources = picks.map((p) => p.source as CoreEncodedItems);
    const encoded = EncodedItems.select(picks.map((p, i) => ({ source: sources[i]!.encoded, row: p.row })));
    if (!this.model.ranker) return new CoreEncodedItems(encoded);
    try {
      const ranking = EncodedItems.select(
        picks.map((p, i) => ({ source: sources[i]!.ranking!, row: p.row })),
      );
      return new CoreEncodedItems(encoded, ranking);
    } catch (err) {
      encoded.dispose();
      throw err;
    }
  }

  /** Users of one adaptation batch are scored together by core's scoreBatch. */
  scoreMany(users: readonly AdaptedUser[], items: EncodedItemSet): Float32Array[] {
    return batchedScores(users, (items as CoreEncodedItems).encoded, (b) => b.users);
  }

  get shortlists(): boolean {
    return (this.model.ranker ?? this.model).shortlists;
  }

  get shortlistIsExact(): boolean {
    return firstStageIsExact(this.model.ranker ?? this.model);
  }

  /** Core's two-stage ranking on the ranker's sets and adapted users when there is a ranker. */
  rankShortlist(
    user: AdaptedUser,
    sets: readonly EncodedItemSet[],
    options: { size: number; top?: number; exclude?: readonly (Iterable<number> | undefined)[] },
  ): ShortlistEntry[] {
    const { batch, index } = user as CoreAdaptedUser;
    const own = sets as readonly CoreEncodedItems[];
    const ranker = this.model.ranker !== null && batch.ranking !== null;
    return rankShortlist(
      ranker ? batch.ranking! : batch.users,
      index,
      own.map((s) => (ranker ? s.ranking! : s.encoded)),
      options,
    );
  }

  rankMany(users: readonly AdaptedUser[], items: EncodedItemSet): Float32Array[] {
    const ranking = (items as CoreEncodedItems).ranking;
    if (!this.model.ranker || !ranking) return this.scoreMany(users, items);
    return batchedScores(users, ranking, (b) => b.ranking!);
  }

  adapt(inputs: AdaptInput[], items: ReadonlyMap<string, ItemRecord>): AdaptedUser[] {
    const users = adapt(this.model, inputs, items, { ...this.adaptOptions, warmItems: this.warm });
    let ranking: AdaptedUsers | null = null;
    if (this.model.ranker) {
      try {
        // The ranker adapts on the same support, every rated item as an interaction.
        const support = inputs.map((x) => ({ user: x.user, support: rankingSupport(this.model, x.support) }));
        ranking = adapt(this.model.ranker, support, items, { warmItems: this.rankerWarm });
      } catch (err) {
        users.dispose();
        throw err;
      }
    }
    const batch: CoreBatch = { users, ranking, live: inputs.length };
    return inputs.map((_, i) => new CoreAdaptedUser(batch, i));
  }

  dispose(): void {
    this.disposed = true;
    for (const model of this.warmable) this.warmUpThread?.drop(model);
    this.model.dispose();
  }
}
