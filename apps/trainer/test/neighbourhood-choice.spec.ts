/**
 * `train.neighbourhood` (learners/neighbourhood-choice.ts, learners/content-choice.ts): `auto`
 * scores every weight of the item neighbourhood on the warm validation users, and every weight of
 * the content neighbourhood on pseudo-new items, and keeps the best of each (0: none), the artifact
 * serving with exactly that; the run record and the output line say which; `off` attaches neither. Two
 * datasets: the synthetic generator's latent-factor interactions, and bundles (each user takes
 * most items of three of 12 bundles), which co-occurrence ranks and a 4-factor network cannot.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '@warmstart/core';
import { openFeatureStore } from '@warmstart/feature-store';
import { createRng, silentProgress } from '@warmstart/evaluation';
import pino from 'pino';
import { trainCommand } from '../src/commands/train';
import { CONTENT_WEIGHTS } from '../src/learners/content-choice';
import { NEIGHBOURHOOD_WEIGHTS } from '../src/learners/neighbourhood-choice';
import { runCli, syntheticImportArgs } from './support/run-cli';

/** 240 users, each with 5 of the 6 items of three of 12 bundles (seeded). */
function bundlesCsv(): string {
  const next = createRng(3);
  const int = (n: number) => Math.floor(next() * n);
  const lines = ['user_id,item_id'];
  for (let u = 0; u < 240; u++) {
    const bundles = new Set<number>();
    while (bundles.size < 3) bundles.add(int(12));
    for (const b of bundles) {
      const skip = int(6);
      for (let k = 0; k < 6; k++) if (k !== skip) lines.push(`u${u},b${b}-${k}`);
    }
  }
  return lines.join('\n') + '\n';
}

describe('train.neighbourhood', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-neighbourhood-'));
  const synthetic = join(dir, 'implicit.db');
  const bundles = join(dir, 'bundles.db');
  /** The bundles with each item's bundle as its content. */
  const withContent = join(dir, 'bundles-content.db');
  beforeAll(async () => {
    await runCli([...syntheticImportArgs(synthetic, 80), '--kind', 'implicit']);
    const csv = join(dir, 'bundles.csv');
    writeFileSync(csv, bundlesCsv());
    await runCli(['import', 'csv', '--interactions', csv, '--kind', 'implicit', '--database', bundles]);
    const items = join(dir, 'items.csv');
    const ids = [
      ...new Set(
        bundlesCsv()
          .trim()
          .split('\n')
          .slice(1)
          .map((l) => l.split(',')[1]!),
      ),
    ];
    writeFileSync(items, ['id,bundle', ...ids.map((id) => `${id},${id.split('-')[0]}`)].join('\n') + '\n');
    await runCli([
      ...['import', 'csv', '--interactions', csv, '--kind', 'implicit', '--items', items],
      ...['--item-fields', 'bundle:categorical', '--database', withContent],
    ]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function train(setting: 'auto' | 'off', database: string) {
    const config = join(dir, `${setting}.yaml`);
    writeFileSync(
      config,
      [
        'model: { embeddingDim: 4, hidden: [8] }',
        `train: { epochs: 1, metaBatchSize: 16, maxRatings: 30, neighbourhood: ${setting} }`,
      ].join('\n'),
    );
    const lines: string[] = [];
    const artifacts = join(dir, `models-${setting}-${database === bundles ? 'bundles' : 'synthetic'}`);
    const outcome = await trainCommand(
      { database, artifacts, config },
      { out: (l: string) => lines.push(l), logger: pino({ level: 'silent' }), progress: silentProgress },
    );
    const model = await loadModel(join(artifacts, outcome.modelId));
    const served = model.neighbourhood && {
      weight: model.neighbourhood.weight,
      size: model.neighbourhood.neighbours.size,
    };
    const content = model.contentNeighbourhood?.weight ?? null;
    const generator = Array.from(model.params['gen.w']?.dataSync() ?? []);
    const items = model.itemIdIndex.size;
    model.dispose();
    return { outcome, served, content, generator, items, output: lines.join('\n') };
  }

  it.each([
    ['synthetic latent factors', () => synthetic, false],
    ['bundles', () => bundles, true],
  ])(
    'auto on %s: keeps the weight that validates best, and the artifact serves with it',
    async (_name, db, kept) => {
      const { outcome, served, items, output } = await train('auto', db());
      const choice = outcome.neighbourhood!;
      // Latent factors: the network alone ranks best; bundles: co-occurrence helps.
      expect(choice.weight > 0).toBe(kept);
      expect(
        Object.keys(choice.scores)
          .map(Number)
          .sort((a, b) => a - b),
      ).toEqual([...NEIGHBOURHOOD_WEIGHTS].sort((a, b) => a - b));
      // The first weight (in the order tried) with the highest score; 0, the network alone, first.
      const best = NEIGHBOURHOOD_WEIGHTS.reduce((b, w) =>
        choice.scores[String(w)]! > choice.scores[String(b)]! ? w : b,
      );
      expect(choice.weight).toBe(best);
      if (choice.weight > 0) {
        expect(served).toEqual({ weight: choice.weight, size: items + 1 });
        expect(choice.entries).toBeGreaterThan(0);
      } else expect(served).toBeNull();
      expect(output).toContain(`item neighbourhood weight ${choice.weight}`);
      const store = await openFeatureStore(db());
      try {
        const record = await store.registry.getModel(outcome.modelId);
        expect(record?.metrics['neighbourhood']).toEqual(choice.scores);
        // The recorded validation figure is the final model's: the best weight's full-support NDCG@20.
        expect(record?.metrics['validation'].ndcg20).toBeCloseTo(
          (outcome.validation as { ndcg20: number }).ndcg20,
          6,
        );
      } finally {
        await store.close();
      }
    },
  );

  it('off: no neighbourhood is scored or attached', async () => {
    const { outcome, served, content, output } = await train('off', withContent);
    expect(outcome.neighbourhood).toBeNull();
    expect(outcome.contentNeighbourhood).toBeNull();
    expect(served).toBeNull();
    expect(content).toBeNull();
    expect(output).not.toContain('neighbourhood');
  });

  it('auto on items with content: keeps the content weight that ranks pseudo-new items best', async () => {
    const { outcome, content, generator, output } = await train('auto', withContent);
    const choice = outcome.contentNeighbourhood!;
    expect(
      Object.keys(choice.scores)
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual([...CONTENT_WEIGHTS].sort((a, b) => a - b));
    const best = CONTENT_WEIGHTS.reduce((b, w) =>
      choice.scores[String(w)]! > choice.scores[String(b)]! ? w : b,
    );
    expect(choice.weight).toBe(best);
    // A pseudo-new item's bundle says which users take it: the content term helps.
    expect(choice.weight).toBeGreaterThan(0);
    expect(choice.tasks).toBeGreaterThanOrEqual(20);
    expect(content).toBe(choice.weight > 0 ? choice.weight : null);
    expect(output).toContain(`content neighbourhood weight ${choice.weight}`);
    const store = await openFeatureStore(withContent);
    try {
      const record = await store.registry.getModel(outcome.modelId);
      expect(record?.metrics['content-neighbourhood']).toEqual(choice.scores);
    } finally {
      await store.close();
    }
    // The ID generator refitted during the choice is put back: the artifact's equals a run without it.
    const off = await train('off', withContent);
    expect(generator.length).toBeGreaterThan(0);
    expect(generator).toEqual(off.generator);
    // Items without content: no content neighbourhood to choose.
    const plain = await train('auto', bundles);
    expect(plain.outcome.contentNeighbourhood).toBeNull();
  });
});
