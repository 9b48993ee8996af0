import { generateSynthetic, importSynthetic, NO_TIME, openFeatureStore } from '../src';
import { backends } from './helpers/backends';
import { runTogether } from './helpers/children';

describe('generateSynthetic', () => {
  const opts = { users: 40, items: 30, interactions: 600, seed: 7 };

  it('is reproducible for a seed and different for another', () => {
    const a = generateSynthetic(opts);
    const b = generateSynthetic(opts);
    expect([...a.interactions]).toEqual([...b.interactions]);
    expect(a.items).toEqual(b.items);
    const c = generateSynthetic({ ...opts, seed: 8 });
    expect([...c.interactions].map((r) => r.value)).not.toEqual([...a.interactions].map((r) => r.value));
  });

  it('has the requested size, unique events, valid ratings and times after release', () => {
    const data = generateSynthetic(opts);
    const rows = [...data.interactions];
    expect(rows).toHaveLength(600);
    expect(new Set(rows.map((r) => r.eventId)).size).toBe(600);
    const released = new Map(data.items.map((it) => [it.id, it.availableAt!.getTime()]));
    for (const r of rows) {
      expect(r.value).toBeGreaterThanOrEqual(1);
      expect(r.value).toBeLessThanOrEqual(5);
      expect(r.eventTime.getTime()).toBeGreaterThanOrEqual(released.get(r.itemId)!);
    }
  });

  it('skews popularity: the top 10% of items get far more than 10% of interactions', () => {
    const data = generateSynthetic({ users: 200, items: 100, interactions: 5000, seed: 3 });
    const counts = new Map<string, number>();
    for (const r of data.interactions) counts.set(r.itemId, (counts.get(r.itemId) ?? 0) + 1);
    const sorted = [...counts.values()].sort((a, b) => b - a);
    const top = sorted.slice(0, 10).reduce((a, b) => a + b, 0);
    expect(top / 5000).toBeGreaterThan(0.25);
  });

  it('makes content features predictive of ratings (genre effect is not zero)', () => {
    const data = generateSynthetic({ users: 300, items: 120, interactions: 12_000, seed: 11 });
    const genresOf = new Map(data.items.map((it) => [it.id, it.features.genres as string[]]));
    // Users differ in taste: per-user mean rating of one genre vs the others varies much more than noise.
    const spread: number[] = [];
    const byUser = new Map<string, { g: number[]; o: number[] }>();
    for (const r of data.interactions) {
      const e = byUser.get(r.userId) ?? { g: [], o: [] };
      (genresOf.get(r.itemId)!.includes('Action') ? e.g : e.o).push(r.value);
      byUser.set(r.userId, e);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const e of byUser.values())
      if (e.g.length >= 5 && e.o.length >= 5) spread.push(mean(e.g) - mean(e.o));
    const sd = Math.sqrt(mean(spread.map((d) => d * d)) - mean(spread) ** 2);
    expect(sd).toBeGreaterThan(0.3);
  });

  it('terminates with fewer interactions than users: exact total, the rest of the users have none', async () => {
    // In a child process: a generator that never terminates must fail this test, not hang Jest.
    const options = { users: 10, items: 5, interactions: 3, seed: 4 };
    const [run] = await runTogether('synthetic.ts', [[JSON.stringify(options)]]);
    expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({
      code: 0,
      signal: null,
      stderr: '',
    });
    const shape = run.result as {
      users: number;
      items: number;
      count: number;
      perUser: Record<string, number>;
    };
    expect(shape).toMatchObject({ users: 10, items: 5, count: 3 });
    expect(Object.values(shape.perUser)).toEqual([1, 1, 1]);
    // same result in-process (now safe to call), and the users who got one are the most active
    const data = generateSynthetic(options);
    const rows = [...data.interactions];
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.userId)).size).toBe(3);
    expect(data.users).toHaveLength(10);
    expect(data.interactionCount).toBe(3);
    const one = generateSynthetic({ users: 50, items: 20, interactions: 1, seed: 9 });
    expect([...one.interactions]).toHaveLength(1);
  }, 60_000);

  it('gives every user at least one interaction when there are enough', () => {
    const data = generateSynthetic({ users: 25, items: 10, interactions: 25, seed: 2 });
    const counts = new Map<string, number>();
    for (const r of data.interactions) counts.set(r.userId, (counts.get(r.userId) ?? 0) + 1);
    expect(counts.size).toBe(25);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
  });

  it('rejects impossible sizes naming the option', () => {
    expect(() => generateSynthetic({ users: 2, items: 2, interactions: 5 })).toThrow(/^interactions:/);
    expect(() => generateSynthetic({ users: 0 })).toThrow(/^users:/);
  });
});

describe('generateSynthetic shapes', () => {
  const collect = (data: ReturnType<typeof generateSynthetic>) => [...data.interactions];

  it('implicit: positives (value 1) that users pick by affinity, not by popularity alone', () => {
    const base = { users: 60, items: 50, seed: 4 };
    const implicit = generateSynthetic({ ...base, interactions: 600, kind: 'implicit' });
    expect(implicit.profile).toEqual({ kind: 'implicit', scale: null, hasTimes: true, name: 'synthetic' });
    const picks = collect(implicit);
    expect(picks).toHaveLength(600);
    expect(picks.every((r) => r.value === 1 && r.kind === 'implicit')).toBe(true);
    // Every pair rated (same latent factors): implicit picks are the pairs users rate higher.
    const dense = collect(generateSynthetic({ ...base, interactions: 60 * 50 }));
    const rating = new Map(dense.map((r) => [`${r.userId}:${r.itemId}`, r.value]));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const picked = mean(picks.map((r) => rating.get(`${r.userId}:${r.itemId}`)!));
    const explicitPicks = collect(generateSynthetic({ ...base, interactions: 600 }));
    const popular = mean(explicitPicks.map((r) => rating.get(`${r.userId}:${r.itemId}`)!));
    expect(picked).toBeGreaterThan(popular + 0.3);
  });

  it('without features or times, leaving everything else as it was', () => {
    const opts = { users: 20, items: 15, interactions: 100, seed: 6 };
    const full = generateSynthetic(opts);
    const bare = generateSynthetic({ ...opts, userFeatures: false, itemFeatures: false, times: false });
    expect(bare.users.every((u) => Object.keys(u.features).length === 0)).toBe(true);
    expect(bare.items.every((it) => Object.keys(it.features).length === 0)).toBe(true);
    expect(bare.items.every((it) => it.availableAt?.getTime() === NO_TIME.getTime())).toBe(true);
    expect(bare.profile).toEqual({ kind: 'explicit', scale: [1, 5], hasTimes: false, name: 'synthetic' });
    const a = collect(full);
    const b = collect(bare);
    expect(b.every((r) => r.eventTime.getTime() === NO_TIME.getTime())).toBe(true);
    expect(b.map((r) => [r.eventId, r.value])).toEqual(a.map((r) => [r.eventId, r.value]));
    expect(generateSynthetic({ ...opts, itemFeatures: false }).users).toEqual(full.users);
    expect(() => generateSynthetic({ kind: 'binary' as never })).toThrow(/^kind:/);
  });
});

describe.each(backends)('importSynthetic on $name', ({ create }) => {
  it('declares the profile of what it generated', async () => {
    const db = create();
    const store = await openFeatureStore(db.url);
    try {
      const report = await importSynthetic(store, {
        users: 10,
        items: 8,
        interactions: 40,
        kind: 'implicit',
        times: false,
        userFeatures: false,
      });
      expect(report.summary).toMatchObject({
        profile: { kind: 'implicit', scale: null, hasTimes: false },
        users: 10,
        usersWithFeatures: 0,
        items: 8,
        itemsWithFeatures: 8,
        interactions: 40,
        timeSpan: null,
      });
      expect(await store.datasetProfile()).toEqual({
        kind: 'implicit',
        scale: null,
        hasTimes: false,
        name: 'synthetic',
      });
    } finally {
      await store.close();
      await db.drop();
    }
  });

  it('writes the generated data and is idempotent', async () => {
    const db = create();
    const store = await openFeatureStore(db.url);
    try {
      const opts = { users: 30, items: 20, interactions: 300, seed: 5 };
      const report = await importSynthetic(store, opts, { batchSize: 100 });
      expect(report).toMatchObject({ users: 30, items: 20, interactions: { ingested: 300, duplicates: 0 } });
      expect(await store.counts()).toEqual({ users: 30, items: 20, interactions: 300 });
      const again = await importSynthetic(store, opts);
      expect(again.interactions).toEqual({ ingested: 0, duplicates: 300 });
    } finally {
      await store.close();
      await db.drop();
    }
  });
});
