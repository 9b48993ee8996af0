import type { ItemRecord, ModelRef, Rating, UserRecord } from './types';

/** Items encoded once by a model and scored for any number of users. */
export interface EncodedItemSet {
  readonly ids: readonly string[];
  dispose(): void;
}

/** Row `row` of an encoded set (see {@link ServingModel.selectItems}). */
export interface ItemPick {
  source: EncodedItemSet;
  row: number;
}

/** One candidate of a two-stage ranking: row `row` of set `set`, with its exact ranking score. */
export interface ShortlistEntry {
  set: number;
  row: number;
  score: number;
}

/** One user's adapted local parameters. */
export interface AdaptedUser {
  /** Predicted rating (or probability) per encoded item, in `items.ids` order. */
  score(items: EncodedItemSet): Float32Array;
  /**
   * Ranking score per encoded item (higher: recommend first): the model's ranker's score when it
   * has one ({@link ServingModel.ranks}), otherwise the same as `score`.
   */
  rank(items: EncodedItemSet): Float32Array;
  /**
   * Bytes of native (tensor) memory this user keeps alive once detached: its own parameters
   * (a user still sharing its adaptation batch keeps the whole batch alive; see `detach`).
   */
  readonly bytes: number;
  /**
   * A copy owning only this user's tensors (the same object when it already owns nothing else),
   * for keeping it long after its batch: a cached slice must not pin the other users of its
   * batch. The copy is disposed independently.
   */
  detach(): AdaptedUser;
  dispose(): void;
}

/** A new item and its first interactions (who, with which features, and the rating or label). */
export interface ItemWarmUp {
  item: ItemRecord;
  interactions: { user: UserRecord; value: number }[];
}

/**
 * What a model that folds new items in ({@link ServingModel.foldsItems}) reads besides the
 * interactions: each evidence user's recent interactions, and the records of the items in them.
 */
export interface EvidenceHistories {
  histories: ReadonlyMap<string, readonly Rating[]>;
  items: ReadonlyMap<string, ItemRecord>;
}

export interface AdaptInput {
  user: UserRecord;
  support: Rating[];
}

/** A loaded, verified model version (a port over @warmstart/core). */
export interface ServingModel {
  readonly ref: ModelRef;
  readonly task: 'rating' | 'implicit';
  /** Inline ratings outside this range are rejected. */
  readonly ratingRange: readonly [number, number];
  /** True when the item had interactions in the training data (false = scored from content). */
  isKnownItem(itemId: string): boolean;
  encodeItems(items: ItemRecord[]): EncodedItemSet;
  /**
   * A new set made of rows of sets this model encoded, in order (a gather: far cheaper than
   * encoding again). The sources stay owned by the caller.
   */
  selectItems(picks: readonly ItemPick[]): EncodedItemSet;
  /**
   * Scores of several adapted users on the same items in ONE batched computation (users adapted
   * in one batch share work): one array per user, each equal to `users[i].score(items)` up to
   * float rounding.
   */
  scoreMany(users: readonly AdaptedUser[], items: EncodedItemSet): Float32Array[];
  /** `rank` of several users in one batched computation, as `scoreMany` is to `score`. */
  rankMany(users: readonly AdaptedUser[], items: EncodedItemSet): Float32Array[];
  /**
   * Whether `rankShortlist` applies: the ranking model's items carry retrieval features (core's
   * two-stage ranking: a shared trunk of two or more decision layers).
   */
  readonly shortlists: boolean;
  /**
   * Whether the first stage's scores are the ranking network's own (no user features or user IDs:
   * the trunk ignores the user), so two-stage ranking returns the exhaustive top k at any catalog
   * size, for the cost of one scan.
   */
  readonly shortlistIsExact: boolean;
  /**
   * Two-stage ranking of one user over candidate sets (a large catalog's pages): a first stage
   * scores every candidate by one dot product, the ranking network scores the best `size`
   * exactly. Returns them (or the best `top` of them) best first with their `rank` scores; rows
   * in `exclude` (per set) never.
   */
  rankShortlist(
    user: AdaptedUser,
    sets: readonly EncodedItemSet[],
    options: { size: number; top?: number; exclude?: readonly (Iterable<number> | undefined)[] },
  ): ShortlistEntry[];
  /**
   * True when the model orders candidates by a ranker of its own (a rating model with core's
   * `attachRanker`): `rank` then differs from `score`, which stays the predicted rating.
   */
  readonly ranks: boolean;
  /** Whether the model has item ID embeddings, so new items can warm up (see warmUpItems). */
  readonly warmsItems: boolean;
  /**
   * Whether new items fold in from the interacting users' adapted heads (core
   * foldInItemsFromHistories: the artifact carries the training users' user base) instead of
   * warming up: warmUpItems then needs the users' histories.
   */
  readonly foldsItems: boolean;
  /** Bumped whenever warmUpItems changes a row: encodings made before use older rows. */
  readonly warmVersion: number;
  /**
   * The items whose warmed rows changed after `version` (an earlier `warmVersion`), so only
   * encodings holding them are redone; undefined when that is no longer known (redo all).
   */
  warmedSince(version: number): ReadonlySet<string> | undefined;
  /**
   * Warms up new items on their interactions (core's warmUpItems), or folds them in from the
   * interacting users' `histories` where the model {@link foldsItems} and they are given, and
   * keeps the rows: every later `encodeItems` and `adapt` of this model uses them. Resolves with
   * the number of items warmed (0 once the model is disposed); may run off the main thread.
   */
  warmUpItems(requests: readonly ItemWarmUp[], histories?: EvidenceHistories): Promise<number>;
  /** Adapts all users in ONE batched computation; `items` resolves support item ids. */
  adapt(inputs: AdaptInput[], items: ReadonlyMap<string, ItemRecord>): AdaptedUser[];
  dispose(): void;
}

export interface ModelRuntime {
  /** Loads and verifies (checksums) an artifact directory; throws if it is unusable. */
  load(artifactDir: string, ref: ModelRef): Promise<ServingModel>;
}
