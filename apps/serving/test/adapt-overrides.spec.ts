/**
 * Serving-wide adaptation overrides (--adapt-steps, --adapt-lr, --adapt-ridge) behind the model
 * runtime: a ridge head applies to head-only models (core supportsClosedFormHead), changes their
 * adaptation, and a model that adapts more than its head is refused at load, naming the flag,
 * instead of failing every request.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@warmstart/core';
import { CoreModelRuntime } from '../src/adapters/core-runtime';
import { ITEMS, USERS, makeModel } from './support/world';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const catalog = new Map(ITEMS.map((i) => [i.id, i]));
const support = [
  { itemId: 'i3', value: 5 },
  { itemId: 'i8', value: 1 },
];
const ref = { modelId: 'm', version: 1 };

async function scores(adaptOptions: ConstructorParameters<typeof CoreModelRuntime>[1]) {
  const runtime = new CoreModelRuntime(async () => makeModel(3, ['output']), adaptOptions);
  const model = await runtime.load('unused', ref);
  const items = model.encodeItems(ITEMS.slice(0, 5));
  const [user] = model.adapt([{ user: USERS[0]!, support }], catalog);
  const out = [...user!.score(items)];
  user!.dispose();
  items.dispose();
  model.dispose();
  return out;
}

describe('adaptation overrides at serving time', () => {
  it('adapt a head-only model with the ridge head when --adapt-ridge is set', async () => {
    const before = tf.memory().numTensors;
    const steps = await scores({});
    const ridge = await scores({ ridge: 1 });
    expect(ridge).not.toEqual(steps);
    expect(await scores({ ridge: 1 })).toEqual(ridge);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuse to load a model that adapts more than its head under --adapt-ridge', async () => {
    const before = tf.memory().numTensors;
    const runtime = new CoreModelRuntime(async () => makeModel(3, ['decision', 'output']), { ridge: 1 });
    await expect(runtime.load('unused', ref)).rejects.toThrow(/--adapt-ridge 1 needs a head-only model/);
    expect(tf.memory().numTensors).toBe(before);
    // "off" (gradient steps) suits every model.
    const steps = new CoreModelRuntime(async () => makeModel(3, ['decision', 'output']), { ridge: null });
    (await steps.load('unused', ref)).dispose();
  });
});
