import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../src/rng';
import {
  buildNegativePool,
  createModel,
  FeatureSpec,
  type FeatureSpecDecl,
  type ItemCatalog,
  type ItemRecord,
  type ModelConfig,
  type RecommenderModel,
  type Task,
  type UserRecord,
} from '../src';

/** A tiny synthetic world: users with a hidden taste for genres, items with genres and a year. */
export interface World {
  spec: FeatureSpec;
  users: UserRecord[];
  items: ItemRecord[];
  catalog: Map<string, ItemRecord>;
  tasks: Task[];
}

export const DECL: FeatureSpecDecl = {
  user: [
    { name: 'gender', kind: 'categorical' },
    { name: 'age', kind: 'bucketized', buckets: 4 },
  ],
  item: [
    { name: 'genres', kind: 'multi_categorical' },
    { name: 'year', kind: 'numeric' },
  ],
};

const GENRES = ['a', 'b', 'c', 'd'];

/** Builds a seeded world; ratings depend on user taste x item genres, so adaptation helps. */
export function makeWorld(seed = 7, nUsers = 24, nItems = 30, perUser = 12): World {
  const rng = new Rng(seed);
  const items: ItemRecord[] = Array.from({ length: nItems }, (_, i) => ({
    id: `i${i}`,
    features: { genres: GENRES.filter(() => rng.next() < 0.4), year: 1980 + rng.int(20) },
  }));
  const users: UserRecord[] = Array.from({ length: nUsers }, (_, u) => ({
    id: `u${u}`,
    features: { gender: rng.next() < 0.5 ? 'M' : 'F', age: 18 + rng.int(50) },
  }));
  const catalog = new Map(items.map((i) => [i.id, i]));
  const tasks: Task[] = users.map((user) => {
    const taste = GENRES.map(() => rng.normal());
    const bias = rng.normal() * 0.5;
    const chosen = rng.shuffle([...items]).slice(0, perUser);
    const ratings = chosen.map((it) => {
      const g = it.features.genres as string[];
      const t = g.reduce((s, x) => s + taste[GENRES.indexOf(x)], 0);
      const value = Math.min(5, Math.max(1, Math.round(3 + bias + t + 0.3 * rng.normal())));
      return { itemId: it.id, value };
    });
    const nSupport = Math.floor(perUser / 2);
    return { user, support: ratings.slice(0, nSupport), query: ratings.slice(nSupport) };
  });
  return { spec: FeatureSpec.fromData(DECL, users, items), users, items, catalog, tasks };
}

/**
 * Runs `fn` once to warm up (kernel set-up, caches), then `times` more, and expects the live
 * tensor count and bytes to stay where the warm-up left them.
 */
export function expectNoTensorGrowth(fn: () => void, times = 5): void {
  fn();
  const { numTensors, numBytes } = tf.memory();
  for (let i = 0; i < times; i++) fn();
  expect(tf.memory().numTensors).toBe(numTensors);
  expect(tf.memory().numBytes).toBe(numBytes);
}

/** A parsed manifest.json, loosely typed so tests can damage it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ManifestJSON = Record<string, any>;

/**
 * Edits an artifact's manifest.json in place and rewrites its checksum file (manifest.sha256), so
 * the edit reaches the structural checks; with `version1` it becomes a format-1 artifact (no
 * checksum file), as written before the manifest checksum existed.
 */
export function rewriteManifest(
  dir: string,
  edit: (manifest: ManifestJSON) => void,
  options: { version1?: boolean } = {},
): void {
  const file = join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  edit(manifest);
  if (options.version1) manifest.formatVersion = 1;
  const text = JSON.stringify(manifest, null, 2) + '\n';
  writeFileSync(file, text);
  const sumFile = join(dir, 'manifest.sha256');
  if (options.version1) rmSync(sumFile, { force: true });
  else writeFileSync(sumFile, `${createHash('sha256').update(text).digest('hex')}  manifest.json\n`);
}

/** Solves a x = b in float64 by Gaussian elimination: the reference of the closed-form heads' tests. */
export function solveDense(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = m[r][n];
    for (let k = r + 1; k < n; k++) s -= m[r][k] * x[k];
    x[r] = s / m[r][r];
  }
  return x;
}

/**
 * An implicit catalog fold-in model (Bayesian head over the catalog, item ID rows for `warmIds`,
 * no user features in `spec`; `extra` overrides the config) with its negative pool built from
 * `tasks`: what item fold-in needs.
 */
export function makeFoldInModel(
  spec: FeatureSpec,
  warmIds: string[],
  tasks: readonly Task[],
  catalog: ItemCatalog,
  seed: number,
  extra: Partial<ModelConfig> = {},
): RecommenderModel {
  const m = createModel(spec, {
    task: 'implicit',
    embeddingDim: 3,
    hidden: [8, 8],
    localGroups: ['output'],
    idEmbeddings: { itemIds: warmIds, dim: 3 },
    negatives: { perPositive: 2, distribution: 'uniform' },
    bayesHead: true,
    catalogFoldIn: true,
    seed,
    ...extra,
  });
  buildNegativePool(m, tasks, catalog);
  return m;
}
