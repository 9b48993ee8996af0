// The library as another service uses it: its own data in memory, its own method beside the
// baselines, protocol P2 and the report, through the public entry point only.
import {
  buildReport,
  createRng,
  ItemKnn,
  Popularity,
  runP2,
  type EvalMethod,
  type MethodFactory,
  type Report,
} from '../src';
import { p2Dataset } from '../src/testing';

/** A service's own model: seeded random scores (no signal), so every baseline must beat it. */
function randomScores(seed: number): EvalMethod {
  const rng = createRng(seed);
  return {
    name: 'random',
    fit: async () => ({ lossHistory: [], backend: 'js' }),
    predict: async (tasks) => tasks.map((t) => Float32Array.from(t.query, () => rng())),
    rank: async (tasks, candidates) => tasks.map(() => Float32Array.from(candidates, () => rng())),
  };
}

const methods: MethodFactory[] = [
  { name: 'popularity', create: () => new Popularity() },
  { name: 'item-knn', create: () => new ItemKnn() },
  { name: 'random', create: randomScores },
];

async function evaluate(): Promise<Report> {
  const dataset = p2Dataset({ kind: 'implicit', users: 120, items: 60, seed: 3 });
  const result = await runP2(dataset, methods, { seeds: [0, 1], kShot: [1, 3], relevanceShare: 0.3 });
  return buildReport(result, { caller: 'library-api.spec' }, new Date(0));
}

describe('@warmstart/evaluation as a library', () => {
  it('runs protocol P2 over baselines and a caller-defined method, and reports every scenario', async () => {
    const report = await evaluate();
    expect(report.protocol).toBe('p2');
    expect(report.kind).toBe('implicit');
    expect(report.seeds).toEqual([0, 1]);
    expect(report.models.map((m) => m.name)).toEqual(['popularity', 'item-knn', 'random']);
    const ndcg = (name: string, scenario: 'warm' | 'new_user') =>
      report.models.find((m) => m.name === name)!.scenarios[scenario].ndcg20!;
    for (const scenario of ['warm', 'new_user'] as const) {
      expect(report.tasks[scenario]).toBeGreaterThan(0);
      // The data has taste groups: neighbours of the support items beat random scores.
      expect(ndcg('item-knn', scenario)).toBeGreaterThan(ndcg('random', scenario));
      expect(ndcg('item-knn', scenario)).toBeLessThanOrEqual(1);
    }
    const knn = report.models.find((m) => m.name === 'item-knn')!;
    expect(knn.k_shot.map((p) => p.k)).toEqual([1, 3]);
    expect(report.generated_at).toBe('1970-01-01T00:00:00.000Z');
    expect(report.config).toEqual({ caller: 'library-api.spec' });
  });

  it('is reproducible: the same data, methods and seeds give the same figures', async () => {
    const strip = (r: Report) => r.models.map((m) => ({ name: m.name, scenarios: m.scenarios, k: m.k_shot }));
    expect(strip(await evaluate())).toEqual(strip(await evaluate()));
  });
});
