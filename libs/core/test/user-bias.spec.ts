/**
 * The closed-form user-bias step of the inner loop (`userBiasShrinkage`): its value, that it is
 * skipped when off, config validation, and that artifacts saved without it load with it off.
 * (Its meta-gradients are checked against finite differences in gradients.spec.ts; batched equals
 * one-at-a-time adaptation with it on, the default, in adapt.spec.ts.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  buildMetaBatch,
  createModel,
  disposeMetaBatch,
  initBackend,
  loadModel,
  saveModel,
  ValidationError,
  type ModelConfig,
} from '../src';
import { innerLoop, inputsFor } from '../src/model/inner';
import { forward } from '../src/model/network';
import { makeWorld, rewriteManifest } from './fixtures';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const world = makeWorld(3, 8, 20, 10);

function model(extra: Partial<ModelConfig> = {}) {
  return createModel(world.spec, { embeddingDim: 3, hidden: [5, 4], seed: 2, ...extra });
}

/** out.b per user after one inner step with learning rate 0 (only the bias step moves it). */
function biasAfterStep(m: ReturnType<typeof model>, steps = 1) {
  // Uneven support sizes (one empty), so padding and the empty case are exercised.
  const tasks = world.tasks
    .slice(0, 4)
    .map((t, i) => ({ ...t, support: t.support.slice(0, [5, 2, 0, 4][i]) }));
  const mb = buildMetaBatch(m, tasks, world.catalog);
  const out = tf.tidy(() => {
    const global = m.globals();
    const inputs = inputsFor(m.layout, global, mb.userX, mb.support);
    const pred = forward(m.layout, global, inputs, m.globalMean).arraySync();
    const local = innerLoop(m.layout, global, m.localNames(), inputs, mb.support, m.globalMean, {
      steps,
      lr: 0,
    });
    return {
      b0: global['out.b'].dataSync()[0],
      b: Array.from(local['out.b'].dataSync()),
      pred,
      y: mb.support.y.arraySync(),
      mask: mb.support.mask.arraySync(),
    };
  });
  disposeMetaBatch(mb);
  return out;
}

describe('user-bias step', () => {
  it('sets each user output bias to the shrunk mean support residual of the initial predictions', () => {
    const m = model({ userBiasShrinkage: 3 });
    const { b0, b, pred, y, mask } = biasAfterStep(m);
    b.forEach((bu, u) => {
      let sum = 0;
      let n = 0;
      for (let s = 0; s < mask[u].length; s++) {
        sum += mask[u][s] * (y[u][s] - pred[u][s]);
        n += mask[u][s];
      }
      expect(bu).toBeCloseTo(b0 + sum / (n + 3), 5);
    });
    expect(b[2]).toBeCloseTo(b0, 6); // empty support: unchanged
    expect(Math.max(...b.map((x) => Math.abs(x - b0)))).toBeGreaterThan(0.05); // it does move
    m.dispose();
  });

  it('is skipped when off and with zero steps', () => {
    const off = model({ userBiasShrinkage: null });
    const r = biasAfterStep(off);
    for (const bu of r.b) expect(bu).toBeCloseTo(r.b0, 6);
    off.dispose();
    const on = model();
    const z = biasAfterStep(on, 0);
    for (const bu of z.b) expect(bu).toBeCloseTo(z.b0, 6);
    on.dispose();
  });

  it('is off by default, on when set for rating models, never for implicit ones, and validated', () => {
    const off = model();
    expect(off.layout.userBiasShrinkage).toBeNull();
    off.dispose();
    const m = model({ userBiasShrinkage: 5 });
    expect(m.config.userBiasShrinkage).toBe(5);
    expect(m.layout.userBiasShrinkage).toBe(5);
    m.dispose();
    const imp = model({ task: 'implicit' });
    expect(imp.layout.userBiasShrinkage).toBeNull();
    imp.dispose();
    expect(() => model({ userBiasShrinkage: 0 })).toThrow(ValidationError);
    expect(() => model({ task: 'implicit', userBiasShrinkage: 5 })).toThrow(/userBiasShrinkage/);
  });

  it('round-trips through artifacts; an artifact saved without the option loads with it off', async () => {
    const root = mkdtempSync(join(tmpdir(), 'warmstart-ubias-'));
    try {
      const m = model({ userBiasShrinkage: 4 });
      await saveModel(m, join(root, 'a'));
      const a = await loadModel(join(root, 'a'));
      expect(a.layout.userBiasShrinkage).toBe(4);
      a.dispose();
      await saveModel(m, join(root, 'old'));
      // A format-1 artifact from before the option (and before the manifest checksum).
      rewriteManifest(join(root, 'old'), (manifest) => delete manifest.config.userBiasShrinkage, {
        version1: true,
      });
      const old = await loadModel(join(root, 'old'));
      expect(old.layout.userBiasShrinkage).toBeNull();
      old.dispose();
      m.dispose();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
