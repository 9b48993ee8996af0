/**
 * supportsClosedFormHead, the one rule for closed-form head adaptation: by algorithm and local
 * groups, and the model getter, the inner loop's check, the artifact check and metaTrain agreeing
 * with it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArtifactError,
  createModel,
  initBackend,
  metaTrain,
  readManifest,
  saveModel,
  supportsClosedFormHead,
  ValidationError,
  type Algorithm,
  type ParamGroup,
} from '../src';
import { isHeadOnly } from '../src/model/head';
import { makeWorld } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const HEAD: ParamGroup[] = ['output'];
const MELU: ParamGroup[] = ['decision', 'output'];

describe('supportsClosedFormHead', () => {
  const cases: [Algorithm, ParamGroup[], boolean][] = [
    ['anil', HEAD, true],
    ['anil', MELU, true],
    ['melu', HEAD, false],
    ['melu', MELU, false],
    ['meta-sgd', HEAD, false],
    ['meta-sgd', MELU, false],
    ['fomaml', HEAD, true],
    ['fomaml', MELU, false],
    ['maml', HEAD, true],
    ['reptile', MELU, false],
  ];
  it.each(cases)('%s with localGroups %j: %s', (algorithm, localGroups, expected) => {
    expect(supportsClosedFormHead(localGroups, algorithm)).toBe(expected);
  });

  it('without an algorithm, holds when output is the only local group', () => {
    expect(supportsClosedFormHead(HEAD)).toBe(true);
    expect(supportsClosedFormHead(MELU)).toBe(false);
    expect(supportsClosedFormHead(['embeddings', 'output'])).toBe(false);
    expect(supportsClosedFormHead(['embeddings', 'decision', 'output'])).toBe(false);
  });
});

describe('its users agree with it', () => {
  const world = makeWorld(5, 12, 24, 12);
  const make = (localGroups: ParamGroup[]) =>
    createModel(world.spec, { embeddingDim: 3, hidden: [6], seed: 3, localGroups });
  const layouts: ParamGroup[][] = [
    HEAD,
    MELU,
    ['embeddings', 'output'],
    ['embeddings', 'decision', 'output'],
  ];

  it.each(layouts.map((groups) => [groups]))(
    'model.supportsRidge and the artifact check of adaptDefaults.ridge (%j)',
    async (localGroups) => {
      const expected = supportsClosedFormHead(localGroups);
      const root = mkdtempSync(join(tmpdir(), 'warmstart-head-only-'));
      const model = make(localGroups);
      try {
        expect(model.supportsRidge).toBe(expected);
        expect(isHeadOnly(model.localNames())).toBe(expected);
        model.adaptDefaults = { steps: 5, lr: 0.1, ridge: 3 };
        await saveModel(model, join(root, 'm'));
        const read = readManifest(join(root, 'm'));
        if (expected) {
          await expect(read).resolves.toMatchObject({ adaptDefaults: { ridge: 3 } });
        } else {
          await expect(read).rejects.toBeInstanceOf(ArtifactError);
          await expect(read).rejects.toMatchObject({ field: 'manifest.adaptDefaults.ridge' });
        }
      } finally {
        model.dispose();
        rmSync(root, { recursive: true, force: true });
      }
    },
  );

  it('metaTrain accepts innerRidge exactly where the rule holds for the algorithm', async () => {
    const algorithms: Algorithm[] = ['anil', 'melu', 'meta-sgd', 'fomaml'];
    for (const algorithm of algorithms) {
      for (const localGroups of [HEAD, MELU]) {
        const model = make([...localGroups]);
        // An aborted run stops before its first meta-batch: only the option checks run.
        const stop = new AbortController();
        stop.abort();
        const run = metaTrain(
          model,
          world.tasks,
          world.catalog,
          { algorithm, innerRidge: 1 },
          undefined,
          stop.signal,
        );
        if (supportsClosedFormHead(localGroups, algorithm)) {
          await expect(run).resolves.toMatchObject({ aborted: true });
        } else {
          await expect(run).rejects.toBeInstanceOf(ValidationError);
          await expect(run).rejects.toMatchObject({ field: 'options.innerRidge' });
        }
        model.dispose();
      }
    }
  });
});
