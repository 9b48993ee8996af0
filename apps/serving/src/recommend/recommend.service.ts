import type { AdaptedCache } from '../cache/adapted-cache';
import type { Shared } from '../cache/shared';
import { DeadlinePassed, InvalidInput } from '../domain/errors';
import type { ModelManager } from '../slots/model-manager';
import type { ModelSlot } from '../slots/model-slot';
import type { AdaptedUser, EncodedItemSet, ItemPick } from '../ports/model-runtime.port';
import type { StorePort, StoredItem } from '../ports/store.port';
import type { ItemRecord } from '../ports/types';
import type { CandidateSource, ParsedRecommend, ParsedUser } from '../validation/recommend.requests';
import type { ActiveCatalog, CandidateSelection, CatalogLease } from './active-catalog';
import type { Recommendation, ScoredCandidate, Scores } from './results';
import { topK, type Ranked } from './top-k';
import { resolveUser, supportCatalog, type ResolvedUser, type UserContextLimits } from './user-context';

export interface RecommendOptions extends UserContextLimits {
  maxCandidates: number;
  /**
   * All-active candidates of a catalog holding more items than this are ranked in two stages
   * (ServingModel.rankShortlist): this many pass the first stage to the network. 0: every item
   * is scored by the network.
   */
  shortlistSize: number;
  /**
   * The shortlist grows with the catalog: at least this fraction of it (the first stage's cut
   * misses more of the exact top k as the catalog grows past the shortlist). 0: always
   * `shortlistSize`.
   */
  shortlistFraction: number;
}

/** Stored users a version answers Recommend for before it takes traffic ({@link RecommendService.rehearse}). */
export const REHEARSAL_ROUNDS = 3;

interface Adapted {
  state: Shared<AdaptedUser>;
  fromCache: boolean;
  supportSize: number;
  /** Scores per candidate page computed in the adaptation batch (undefined: score it here). */
  scores?: (Float32Array | undefined)[];
}

/** One encoded candidate page of a request. */
interface CandidatePage {
  encoded: EncodedItemSet;
  /** Row of an item id, when the page has an index (else the ids are scanned). */
  rowOf?: (itemId: string) => number | undefined;
  /** Set for pages encoded for this request alone. */
  dispose?: () => void;
}

/**
 * Recommend and Score: resolve the user, adapt (cached, or micro-batched with other requests),
 * score candidates with the model version the request started on, rank.
 */
export class RecommendService {
  constructor(
    private readonly store: StorePort,
    private readonly models: ModelManager,
    private readonly cache: AdaptedCache,
    private readonly catalog: ActiveCatalog,
    private readonly options: RecommendOptions,
  ) {}

  async recommend(req: ParsedRecommend, deadline: number, signal?: AbortSignal): Promise<Recommendation> {
    const slot = this.models.acquire();
    try {
      return await this.recommendOn(slot, req, deadline, signal);
    } finally {
      slot.leave();
    }
  }

  /**
   * Runs Recommend's own path (store reads, micro-batched adaptation, the all-active catalog,
   * two-stage ranking) on a version before it takes traffic: for up to `rounds` stored users who
   * interacted with active items (their reads and their adapted states are then cached, as any
   * call's are) and for an inline user whose support is two active items. The first calls'
   * one-time costs (compiling the code paths and the store's queries, the ranking buffers at the
   * catalog's size) are paid here, not by the first callers. Nothing is written.
   */
  async rehearse(slot: ModelSlot, rounds = REHEARSAL_ROUNDS): Promise<void> {
    const { items } = await this.store.activeItems({ pageSize: 16 });
    if (items.length === 0) return;
    const interactions = await this.store.itemInteractions(
      items.map((i) => i.id),
      { perItem: rounds },
    );
    const stored = new Set<string>();
    for (const rows of interactions.values()) for (const r of rows) stored.add(r.userId);
    const value = slot.model.task === 'implicit' ? 1 : slot.model.ratingRange[1];
    const users: ParsedUser[] = [
      ...[...stored].slice(0, rounds).map((userId) => ({ userId, features: {}, support: [] })),
      { features: {}, support: items.slice(0, 2).map((i) => ({ itemId: i.id, value })) },
    ];
    for (const user of users)
      await this.recommendOn(
        slot,
        { user, candidates: { kind: 'allActive' }, k: 10, includeSeen: false },
        Date.now() + 60_000,
      );
  }

  private async recommendOn(
    slot: ModelSlot,
    req: ParsedRecommend,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<Recommendation> {
    const held: Array<{ release(): void }> = [];
    try {
      // Candidates from the encoded active catalog (kept per model version): explicit ids are
      // gathered from its rows (a list sent again is served from the catalog's gathered-list
      // cache); only ids it does not hold (retired or unknown ones) and the support items are
      // read from the store.
      const lease = req.candidates.kind === 'since' ? undefined : await this.catalog.lease(slot.model);
      if (lease) held.push(lease);
      else this.catalog.warmUp(slot.model);
      const source = req.candidates;
      const selection = source.kind === 'ids' ? lease?.selection(source.ids, source.key) : undefined;
      if (selection) held.push(selection);
      const located = lease && source.kind === 'ids' && !selection ? locate(lease, source.ids) : undefined;
      const { resolved, items, catalog } = await this.prepare(slot, req.user, located?.missing ?? []);
      // Shared candidate sets (the catalog pages, a kept list) are scored in the adaptation
      // batch with every other user wanting them; a request's own candidates (a one-off list,
      // new items) are built after adaptation and freed right after scoring, as before. A large
      // catalog is ranked in two stages after adaptation instead (never exhaustively in the batch).
      const shared = sharedPages(source, lease, selection?.value);
      const twoStage = source.kind === 'allActive' && this.ranksInTwoStages(slot, shared ?? []);
      const batched = twoStage ? undefined : shared;
      const adapted = await this.adapt(slot, resolved, catalog, { deadline, signal }, batched);
      let own: CandidatePage[] = [];
      try {
        checkDeadline(deadline);
        if (!shared) own = await this.ownPages(slot, source, located, items);
        const pages = shared ?? own;
        const skipSeen = !req.includeSeen && resolved.seen.size > 0 ? resolved.seen : undefined;
        const user = adapted.state.value;
        const answer = (items: ScoredCandidate[]): Recommendation => ({
          items,
          model: { ...slot.ref },
          supportSize: adapted.supportSize,
          adaptedFromCache: adapted.fromCache,
        });
        if (twoStage) return answer(this.rankTwoStage(slot, user, lease!, req.k, skipSeen));
        // Pages the batch did not rank (a cached user, a request's own candidates, or a set no
        // other job of the batch wanted) are ranked alone, still through core's batched path.
        const scores = pages.map((p, i) => adapted.scores?.[i] ?? slot.model.rankMany([user], p.encoded)[0]!);
        // A model with a ranker ranks by it and still answers with predicted ratings.
        const values = slot.model.ranks
          ? (p: number) => slot.model.scoreMany([user], pages[p]!.encoded)[0]!
          : undefined;
        return answer(this.rankPages(slot, pages, scores, req.k, skipSeen, values));
      } finally {
        for (const page of own) page.dispose?.();
        adapted.state.release();
      }
    } finally {
      for (const h of held) h.release();
    }
  }

  async score(user: ParsedUser, itemIds: string[], deadline: number, signal?: AbortSignal): Promise<Scores> {
    const slot = this.models.acquire();
    try {
      // New items' warmed rows (the catalog's lease keeps them up to date too).
      this.catalog.warmUp(slot.model);
      const { resolved, items, catalog } = await this.prepare(slot, user, itemIds);
      const candidates = this.explicitCandidates(itemIds, items, 'item_ids', false);
      const adapted = await this.adapt(slot, resolved, catalog, { deadline, signal });
      try {
        checkDeadline(deadline);
        const encoded = slot.model.encodeItems(candidates);
        try {
          const scores = adapted.state.value.score(encoded);
          return {
            items: candidates.map((item, i) => this.scored(slot, item.id, scores[i] as number)),
            model: { ...slot.ref },
            supportSize: adapted.supportSize,
          };
        } finally {
          encoded.dispose();
        }
      } finally {
        adapted.state.release();
      }
    } finally {
      slot.leave();
    }
  }

  /** Resolves the user and fetches support + explicit candidate items in one store read. */
  private async prepare(slot: ModelSlot, user: ParsedUser, explicit: string[]) {
    const resolved = await resolveUser(user, this.store, slot.model, this.options);
    const ids = new Set<string>([...explicit, ...resolved.support.map((r) => r.itemId)]);
    const items = ids.size > 0 ? await this.store.getItems([...ids]) : new Map<string, StoredItem>();
    return { resolved, items, catalog: supportCatalog(resolved, user.support, items) };
  }

  private async adapt(
    slot: ModelSlot,
    resolved: ResolvedUser,
    catalog: ReadonlyMap<string, ItemRecord>,
    { deadline, signal }: { deadline: number; signal: AbortSignal | undefined },
    candidates?: readonly CandidatePage[],
  ): Promise<Adapted> {
    const supportSize = resolved.support.length;
    const key =
      resolved.cacheWatermark !== undefined
        ? { model: slot.ref, userId: resolved.user.id, watermark: resolved.cacheWatermark }
        : undefined;
    const cached = key ? this.cache.get(key) : undefined;
    if (cached) return { state: cached, fromCache: true, supportSize };
    checkDeadline(deadline);
    // Uncached users are scored on the candidates in the same batched pass as their adaptation.
    const { state, scores } = await slot.batcher.submit(
      {
        input: { user: resolved.user, support: resolved.support },
        items: catalog,
        ...(candidates ? { candidates: candidates.map((p) => p.encoded) } : {}),
      },
      deadline,
      signal,
    );
    if (key) this.cache.set(key, state);
    return candidates
      ? { state, fromCache: false, supportSize, scores }
      : { state, fromCache: false, supportSize };
  }

  /** A request's own candidates: new items, or an explicit list the catalog does not keep. */
  private async ownPages(
    slot: ModelSlot,
    source: CandidateSource,
    located: Located | undefined,
    items: ReadonlyMap<string, StoredItem>,
  ): Promise<CandidatePage[]> {
    let encoded: EncodedItemSet | undefined;
    if (source.kind === 'since') encoded = this.encodeCandidates(slot, await this.newItems(source.since));
    else if (located) encoded = this.gatherExplicit(slot, located, items);
    else if (source.kind === 'ids')
      encoded = this.encodeCandidates(
        slot,
        this.explicitCandidates(source.ids, items, 'candidates.item_ids.ids', true),
      );
    if (!encoded) return [];
    const owned = encoded;
    return [{ encoded: owned, dispose: () => owned.dispose() }];
  }

  private encodeCandidates(slot: ModelSlot, candidates: StoredItem[]): EncodedItemSet | undefined {
    return candidates.length > 0 ? slot.model.encodeItems(candidates) : undefined;
  }

  /**
   * Explicit candidates (unique, request order, active only) as rows gathered from the catalog's
   * encodings; ids the catalog lacks are validated against the store read and encoded alone.
   */
  private gatherExplicit(
    slot: ModelSlot,
    { unique, found, missing }: Located,
    items: ReadonlyMap<string, StoredItem>,
  ): EncodedItemSet | undefined {
    const others = this.explicitCandidates(missing, items, 'candidates.item_ids.ids', true);
    const fresh = this.encodeCandidates(slot, others);
    try {
      const freshRow = new Map(others.map((item, row) => [item.id, row]));
      const picks: ItemPick[] = [];
      unique.forEach((id, i) => {
        const at = found[i];
        if (at) picks.push({ source: at.page.encoded, row: at.row });
        else if (fresh && freshRow.has(id)) picks.push({ source: fresh, row: freshRow.get(id) as number });
      });
      return picks.length > 0 ? slot.model.selectItems(picks) : undefined;
    } finally {
      fresh?.dispose();
    }
  }

  /**
   * The top k over all pages (ties keep candidate order), skipping the user's seen items: their
   * rows are looked up in the page's index instead of testing every candidate id.
   */
  private rankPages(
    slot: ModelSlot,
    pages: readonly CandidatePage[],
    scores: readonly Float32Array[],
    k: number,
    seen: ReadonlySet<string> | undefined,
    values?: (page: number) => Float32Array,
  ): ScoredCandidate[] {
    let best: Array<Ranked & { id: string; page: number }> = [];
    pages.forEach((page, p) => {
      const ids = page.encoded.ids;
      const pageScores = scores[p] as Float32Array;
      const pageBest = topK(pageScores, k, seen && skipRows(page, seen));
      const merged = best.concat(pageBest.map((r) => ({ ...r, id: ids[r.index] as string, page: p })));
      best = pages.length === 1 ? merged : merged.sort((a, b) => b.score - a.score).slice(0, k);
    });
    if (!values) return best.map((r) => this.scored(slot, r.id, r.score));
    // The reply's score is the predicted value of each chosen item (pages scored once each).
    const byPage = new Map<number, Float32Array>();
    const valueOf = (r: (typeof best)[number]) => {
      let v = byPage.get(r.page);
      if (!v) byPage.set(r.page, (v = values(r.page)));
      return v[r.index] as number;
    };
    return best.map((r) => this.scored(slot, r.id, valueOf(r)));
  }

  /**
   * Whether all-active candidates on these pages are ranked in two stages (see shortlistSize):
   * beyond the shortlist's size, or at any size when the first stage is exact (a scan then costs
   * less than the network over every item and returns the same top k).
   */
  private ranksInTwoStages(slot: ModelSlot, pages: readonly CandidatePage[]): boolean {
    if (this.options.shortlistSize <= 0 || !slot.model.shortlists) return false;
    if (slot.model.shortlistIsExact) return true;
    const items = catalogSize(pages);
    return items > this.shortlistFor(items);
  }

  /** Candidates the first stage passes on from a catalog of `items`. */
  private shortlistFor(items: number): number {
    return Math.max(this.options.shortlistSize, Math.ceil(this.options.shortlistFraction * items));
  }

  /**
   * The top k of two-stage ranking over the pages (seen items excluded before the first stage,
   * so they never take a place in the shortlist); a model with a ranker still answers with the
   * predicted ratings of the chosen items, scored on a selection of their rows.
   */
  private rankTwoStage(
    slot: ModelSlot,
    user: AdaptedUser,
    lease: CatalogLease,
    k: number,
    seen: ReadonlySet<string> | undefined,
  ): ScoredCandidate[] {
    if (k === 0) return [];
    const pages = lease.pages;
    const exclude = seen ? seenCatalogRows(lease, seen) : undefined;
    const best = slot.model.rankShortlist(
      user,
      pages.map((p) => p.encoded),
      { size: Math.max(k, this.shortlistFor(catalogSize(pages))), top: k, ...(exclude && { exclude }) },
    );
    const idOf = (e: (typeof best)[number]) => pages[e.set]!.encoded.ids[e.row] as string;
    if (!slot.model.ranks || best.length === 0) return best.map((e) => this.scored(slot, idOf(e), e.score));
    const chosen = slot.model.selectItems(best.map((e) => ({ source: pages[e.set]!.encoded, row: e.row })));
    try {
      const values = slot.model.scoreMany([user], chosen)[0]!;
      return best.map((e, i) => this.scored(slot, idOf(e), values[i] as number));
    } finally {
      chosen.dispose();
    }
  }

  private explicitCandidates(
    ids: string[],
    items: ReadonlyMap<string, StoredItem>,
    field: string,
    activeOnly: boolean,
  ): StoredItem[] {
    const unknown = [...new Set(ids.filter((id) => !items.has(id)))];
    if (unknown.length > 0) {
      const shown = unknown.slice(0, 20).map((id) => `"${id}"`);
      const more = unknown.length > 20 ? ` and ${unknown.length - 20} more` : '';
      throw new InvalidInput(field, `unknown item ids: ${shown.join(', ')}${more}`);
    }
    const unique = [...new Set(ids)].map((id) => items.get(id) as StoredItem);
    return activeOnly
      ? unique.filter((i) => i.status === 'active')
      : ids.map((id) => items.get(id) as StoredItem);
  }

  private async newItems(since: Date): Promise<StoredItem[]> {
    const out: StoredItem[] = [];
    let cursor: string | undefined;
    do {
      const pageSize = Math.min(1000, this.options.maxCandidates - out.length);
      const page = await this.store.newItemsSince(since, cursor ? { pageSize, cursor } : { pageSize });
      out.push(...page.items.filter((i) => i.status === 'active'));
      cursor = page.nextCursor;
    } while (cursor && out.length < this.options.maxCandidates);
    return out;
  }

  private scored(slot: ModelSlot, itemId: string, score: number): ScoredCandidate {
    return { itemId, score, coldItem: !slot.model.isKnownItem(itemId) };
  }
}

/** Explicit candidates located in the catalog: unique ids in order, their rows, and the ids it lacks. */
interface Located {
  unique: string[];
  found: ReturnType<CatalogLease['find']>[];
  /** Retired, unknown, or written since the catalog was read: resolved through the store. */
  missing: string[];
}

function locate(lease: CatalogLease, ids: readonly string[]): Located {
  return lease.locate(ids);
}

/** Candidate pages several requests may share: all active items, or a kept explicit list. */
function sharedPages(
  source: CandidateSource,
  lease: CatalogLease | undefined,
  selection: CandidateSelection | undefined,
): CandidatePage[] | undefined {
  if (source.kind === 'allActive') {
    const all = lease as CatalogLease;
    return all.pages.map((page) => ({
      encoded: page.encoded,
      rowOf: (id: string) => {
        const at = all.find(id);
        return at && at.page === page ? at.row : undefined;
      },
    }));
  }
  return selection ? [{ encoded: selection.encoded, rowOf: (id) => selection.rowOf(id) }] : undefined;
}

/** A skip test for topK: the rows of `seen` items in this page. */
function skipRows(page: CandidatePage, seen: ReadonlySet<string>): (index: number) => boolean {
  // Without an index (a request's own page) the candidate's id is tested when asked: topK asks
  // only for candidates entering the top k, not for all 1,000.
  const ids = page.encoded.ids;
  if (!page.rowOf) return (index) => seen.has(ids[index] as string);
  const rows = seenRows(page.rowOf, seen);
  return (index) => rows.has(index);
}

/** The rows of `seen` items in an indexed page (a catalog page or a kept list), by its `rowOf`. */
function seenRows(rowOf: (itemId: string) => number | undefined, seen: ReadonlySet<string>): Set<number> {
  const rows = new Set<number>();
  for (const id of seen) {
    const row = rowOf(id);
    if (row !== undefined) rows.add(row);
  }
  return rows;
}

/** The rows of `seen` items in each of the catalog's pages (one catalog lookup per item). */
function seenCatalogRows(lease: CatalogLease, seen: ReadonlySet<string>): number[][] {
  const index = new Map(lease.pages.map((page, i) => [page, i]));
  const rows = lease.pages.map((): number[] => []);
  for (const id of seen) {
    const at = lease.find(id);
    if (at) rows[index.get(at.page) as number]!.push(at.row);
  }
  return rows;
}

function checkDeadline(deadline: number): void {
  if (Date.now() >= deadline) throw new DeadlinePassed('deadline exceeded before scoring');
}

/** Items on the pages. */
function catalogSize(pages: readonly { encoded: EncodedItemSet }[]): number {
  let items = 0;
  for (const page of pages) items += page.encoded.ids.length;
  return items;
}
