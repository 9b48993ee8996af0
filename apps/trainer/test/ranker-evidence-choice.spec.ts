/**
 * The ranker's new-item evidence (learners/ranker-evidence-choice.ts): every rating of a new item
 * a positive interaction, or the liked ones positive and the others negative, and the warm-up's
 * prior, chosen on pseudo-new items whose evidence is the training users' ratings. A fake trial stands for the learner (it scores an item by how much
 * evidence it took in) so that what the choice reads and keeps is observable.
 */
import { DEFAULT_WARMUP, rankerEvidence, type RecommenderModel } from '@warmstart/core';
import type { RatingEvent, Task } from '@warmstart/evaluation';
import type { NewItemsTrial } from '../src/learners/new-items-choice';
import { HIDDEN_PREFIX } from '../src/learners/pseudo-new';
import {
  chooseRankerEvidence,
  RANKER_EVIDENCE_SHOTS,
  RANKER_WARMUP_PRIORS,
  settingKey,
  type RankerEvidenceSetting,
} from '../src/learners/ranker-evidence-choice';
import { items, tasks } from './support/good-and-poor-items';

/** The model part rankerEvidence reads: only the minimum matters to it. */
const rated = { rankerEvidenceMin: null } as unknown as RecommenderModel;

interface Seen {
  setting: RankerEvidenceSetting;
  evidence: readonly RatingEvent[];
  histories: readonly Task[];
}

/**
 * Rows that count the positive evidence each item took in (as the ranker reads it: rankerEvidence
 * with the setting's minimum), with `goodPrior` only; with any other prior every row ties.
 */
function fakeTrial(
  setting: RankerEvidenceSetting,
  seen: Seen[],
  goodPrior = DEFAULT_WARMUP.prior,
): NewItemsTrial {
  return {
    isWarm: (id) => items.get(id) !== undefined,
    rows: (_way, evidence, _items, histories) => {
      seen.push({ setting, evidence, histories });
      const rows = new Map<string, Float32Array>();
      for (const r of rankerEvidence(rated, evidence, setting.min)) {
        const row = rows.get(r.itemId) ?? new Float32Array(1);
        row[0] += setting.prior === goodPrior ? r.value : 0;
        rows.set(r.itemId, row);
      }
      return rows;
    },
    rank: async (ts, candidates, _items, rows) =>
      ts.map(() => Float32Array.from(candidates, (c) => rows?.get(c)?.[0] ?? 0)),
  };
}

const ctx = (kind: 'explicit' | 'implicit' = 'explicit') => ({
  train: tasks('t', 60, 0),
  validation: tasks('v', 30, 1),
  items,
  seed: 0,
  kind,
  scale: (kind === 'explicit' ? [1, 5] : [0, 1]) as [number, number],
});

describe('chooseRankerEvidence', () => {
  it('keeps the minimum when it ranks the validation users’ liked pseudo-new items better', async () => {
    const seen: Seen[] = [];
    const choice = await chooseRankerEvidence('warm-up', (s) => fakeTrial(s, seen), ctx());
    // The pseudo-new items, by their original ids.
    const hidden = new Set(seen[0]!.evidence.map((r) => r.itemId.slice(HIDDEN_PREFIX.length)));
    for (const { evidence } of seen)
      for (const r of evidence) hidden.add(r.itemId.slice(HIDDEN_PREFIX.length));
    // Every pseudo-new item has as many ratings whatever its quality: only the liked ones tell.
    expect(choice!.min).toBeCloseTo(3.8, 10);
    const liked = { min: choice!.min, prior: DEFAULT_WARMUP.prior };
    const all = { min: null, prior: DEFAULT_WARMUP.prior };
    expect(choice!.scores[settingKey(liked)]).toBeGreaterThan(choice!.scores[settingKey(all)]!);
    // Every minimum and prior scored; the other priors tie here, and the first best is kept.
    expect(Object.keys(choice!.scores)).toHaveLength(2 * RANKER_WARMUP_PRIORS.length);
    expect(choice!.kept).toEqual(liked);
    expect(choice!.tasks).toBeGreaterThanOrEqual(20);
    // It read the training users' ratings of hidden items, at most k per item per shot.
    const training = new Set(ctx().train.map((t) => t.user.id));
    const perShot = 2 * RANKER_WARMUP_PRIORS.length;
    expect(seen).toHaveLength(perShot * RANKER_EVIDENCE_SHOTS.length);
    RANKER_EVIDENCE_SHOTS.forEach((k, at) => {
      const { evidence } = seen[perShot * at]!;
      expect(evidence.length).toBeGreaterThan(0);
      const perItem = new Map<string, number>();
      for (const r of evidence) {
        expect(training.has(r.userId)).toBe(true);
        expect(r.itemId.startsWith(HIDDEN_PREFIX)).toBe(true);
        perItem.set(r.itemId, (perItem.get(r.itemId) ?? 0) + 1);
      }
      expect(Math.max(...perItem.values())).toBeLessThanOrEqual(k);
      expect(perItem.size).toBeLessThanOrEqual(choice!.items);
      // Histories (what a fold-in reads): the training users who rated pseudo-new items, without them.
      const { histories } = seen[perShot * at]!;
      const raters = new Set(
        ctx().train.flatMap((t) =>
          t.support.concat(t.query).some((r) => hidden.has(r.itemId)) ? [t.user.id] : [],
        ),
      );
      expect(new Set(histories.map((h) => h.user.id))).toEqual(raters);
      for (const h of histories) for (const r of h.support) expect(hidden.has(r.itemId)).toBe(false);
    });
  });

  it('keeps the warm-up prior that ranks better; the fold-in tries the default prior alone', async () => {
    const weak = await chooseRankerEvidence('warm-up', (s) => fakeTrial(s, [], 5), ctx());
    expect(weak!.kept).toEqual({ min: weak!.min, prior: 5 });
    const foldIn = await chooseRankerEvidence('fold-in', (s) => fakeTrial(s, [], 5), ctx());
    expect(Object.keys(foldIn!.scores)).toEqual([
      settingKey({ min: null, prior: DEFAULT_WARMUP.prior }),
      settingKey({ min: foldIn!.min, prior: DEFAULT_WARMUP.prior }),
    ]);
    // Every row ties there: the first setting, every rating positive at the default prior, stays.
    expect(foldIn!.kept).toEqual({ min: null, prior: DEFAULT_WARMUP.prior });
  });

  it('keeps every rating positive when the minimum ranks no better', async () => {
    // Everything rated 5: every rating is liked either way, and the scores tie.
    const all5 = ctx();
    for (const t of [...all5.train, ...all5.validation])
      for (const r of [...t.support, ...t.query]) (r as { value: number }).value = 5;
    const choice = await chooseRankerEvidence('warm-up', (s) => fakeTrial(s, []), all5);
    const prior = DEFAULT_WARMUP.prior;
    expect(choice!.scores[settingKey({ min: choice!.min, prior })]).toBe(
      choice!.scores[settingKey({ min: null, prior })],
    );
    expect(choice!.kept).toEqual({ min: null, prior });
  });

  it('is not made for implicit data, nor with too few validation users', async () => {
    expect(await chooseRankerEvidence('warm-up', (s) => fakeTrial(s, []), ctx('implicit'))).toBeNull();
    const few = { ...ctx(), validation: ctx().validation.slice(0, 5) };
    expect(await chooseRankerEvidence('warm-up', (s) => fakeTrial(s, []), few)).toBeNull();
  });
});
