import { FeatureSpec } from '@warmstart/core';
import { DEFAULT_FEATURES } from '../src/config/schema';
import { inferFields, resolveFeatures, sharedWordShare } from '../src/data/infer-features';
import { readMovieLens100k } from '../src/data/movielens-dir';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const rec = (features: Record<string, unknown>) => ({ id: 'x', features: features as never });

describe('feature inference (no features config)', () => {
  it('strings -> categorical, string lists -> multi_categorical, numbers -> quantile buckets', () => {
    const items = Array.from({ length: 100 }, (_, i) => ({
      id: `i${i}`,
      features: {
        genre: `g${i % 5}`,
        tags: [`t${i % 3}`, `t${(i + 1) % 3}`],
        price: i * 1.5,
        title: `Title number ${i}`, // unique per item: left out
        constant: 'same', // one value: left out
        empty: null,
      },
    }));
    const { fields, skipped } = inferFields(items);
    expect(fields).toEqual([
      { name: 'genre', kind: 'categorical', maxVocab: 200 },
      { name: 'price', kind: 'bucketized', buckets: 8 },
      { name: 'tags', kind: 'multi_categorical', maxVocab: 200 },
    ]);
    expect(skipped.map((s) => s.name).sort()).toEqual(['constant', 'title']);
    expect(skipped.find((s) => s.name === 'title')!.reason).toMatch(/mostly unique \(100 distinct values/);
    // core fits the buckets on the data: quantile boundaries over the prices
    const spec = FeatureSpec.fromData({ user: [], item: fields }, [], items);
    const price = spec.item.fields.find((f) => f.name === 'price')!;
    expect(price.boundaries!.length).toBeGreaterThan(4);
    expect(price.boundaries![0]).toBeGreaterThan(0);
    expect(price.boundaries![price.boundaries!.length - 1]).toBeLessThan(99 * 1.5);
  });

  it('mostly unique strings that share words -> text; identifiers -> left out', () => {
    const words = ['love', 'night', 'story', 'war', 'city', 'dream', 'river'];
    const items = Array.from({ length: 120 }, (_, i) => ({
      id: `i${i}`,
      features: {
        // Titles: unique, but most share a word (and a year) with others.
        title: `The ${words[i % words.length]} of ${words[(i * 3) % words.length]} ${i} (${1990 + (i % 9)})`,
        sku: `SKU-${(i * 7919).toString(16)}`, // one prefix every record shares, the rest unique
      },
    }));
    const { fields, skipped } = inferFields(items);
    expect(fields).toEqual([{ name: 'title', kind: 'text' }]);
    expect(skipped).toEqual([
      { name: 'sku', reason: expect.stringMatching(/mostly unique .*0% sharing a word/) },
    ]);
    expect(sharedWordShare(items.map((i) => i.features.title))).toBe(1);
    const spec = FeatureSpec.fromData({ user: [], item: fields }, [], items);
    expect(spec.item.fields[0]!.vocab).toEqual(expect.arrayContaining(['love', 'night', '1990']));
    // "the" and "of" are in every title: in the vocabulary (a near-constant column), not counted as shared.
    expect(sharedWordShare(['the a', 'the b', 'the c'])).toBe(0);
  });

  it('no features at all: empty lists', () => {
    const r = resolveFeatures(DEFAULT_FEATURES, [rec({})], [rec({})]);
    expect(r.features).toEqual({ user: [], item: [] });
    expect(r.inferred).toEqual({ user: true, item: true });
  });

  it('a configured features section is used as given', () => {
    const configured = { user: [], item: [{ name: 'genre', kind: 'categorical' as const }] };
    const r = resolveFeatures(configured, [rec({ age: 3 })], [rec({ colour: 'red' })]);
    expect(r.features).toBe(configured);
    expect(r.inferred).toEqual({ user: false, item: false });
  });

  it('keeps MovieLens declarations on a side whose records carry every default field', () => {
    const users = [rec({ gender: 'M', age: 30, occupation: 'x', zip_prefix: '12' })];
    const r = resolveFeatures(DEFAULT_FEATURES, users, [rec({ colour: 'red' }), rec({ colour: 'blue' })]);
    expect(r.features.user).toBe(DEFAULT_FEATURES.user);
    expect(r.features.item).toEqual([{ name: 'colour', kind: 'categorical', maxVocab: 200 }]);
  });

  const ml = process.env['WARMSTART_ML100K'] ?? resolve(__dirname, '../../../../shared/datasets/ml-100k');
  const present = existsSync(`${ml}/u.data`);
  if (!present) console.warn(`MovieLens feature test skipped: ${ml}/u.data not found (set WARMSTART_ML100K)`);
  (present ? it : it.skip)('MovieLens-100K keeps the default declarations (P1 unchanged)', () => {
    const data = readMovieLens100k(ml);
    const r = resolveFeatures(DEFAULT_FEATURES, data.users, data.items);
    expect(r.features).toEqual(DEFAULT_FEATURES);
    expect(r.inferred).toEqual({ user: false, item: false });
  });
});
