import { initBackend } from '@warmstart/core';
import { parseConfig } from '../src/config/load';
import { buildModel, initBiases } from '../src/learners/build-model';
import { itemCatalog, type ItemRecord, type Task, type UserRecord } from '@warmstart/evaluation';

beforeAll(async () => {
  await initBackend({ prefer: 'cpu' });
});

const GENRES = ['Drama', 'Comedy', 'Action'];
const items: ItemRecord[] = Array.from({ length: 12 }, (_, i) => ({
  id: `i${i}`,
  features: { genres: [GENRES[i % 3]], release_year: 1980 + i },
}));
const users: UserRecord[] = Array.from({ length: 6 }, (_, u) => ({
  id: `u${u}`,
  features: { gender: u % 2 ? 'M' : 'F', age: 20 + 5 * u, occupation: 'x', zip_prefix: '1' },
}));
// Drama rated high, Action low: the genre regression of the item biases must see it.
const tasks: Task[] = users.map((user) => {
  const ratings = items.map((it, i) => ({ itemId: it.id, value: [5, 3, 1][i % 3] }));
  return { user, support: ratings.slice(0, 6), query: ratings.slice(6) };
});

describe('model bias settings', () => {
  it('defaults: the bias backbone (item-bias initialisation, frozen, user-bias step 1); all configurable', () => {
    const c = parseConfig({});
    expect(c.model.userBiasShrinkage).toBe(1);
    expect(c.model.initItemBiases).toBe(true);
    expect(c.model.freezeItemBiases).toBe(true);
    const other = parseConfig({
      model: { userBiasShrinkage: null, initItemBiases: false, freezeItemBiases: false },
    });
    expect(other.model.userBiasShrinkage).toBeNull();
    expect(other.model.initItemBiases).toBe(false);
    expect(other.model.freezeItemBiases).toBe(false);
    expect(() => parseConfig({ model: { userBiasShrinkage: 0 } })).toThrow(/^model\.userBiasShrinkage: /);
  });

  it('buildModel passes the user-bias step to core, and initBiases fits the mean and genre bias', async () => {
    const c = parseConfig({ model: { userBiasShrinkage: 2 } });
    const model = buildModel(c.features, c.model, users, items, tasks, 0);
    expect(model.layout.userBiasShrinkage).toBe(2);
    await initBiases(model, c.model, tasks, itemCatalog(items));
    expect(model.globalMean).toBeCloseTo(3, 5);
    // Item content bias per genre column: Drama above Action.
    const field = model.spec.item.fields.find((f) => f.name === 'genres')!;
    const bias = model.params['emb.itemBias'].dataSync();
    const col = (g: string) => field.offset + 1 + field.vocab!.indexOf(g); // column 0: OOV slot
    expect(bias[col('Drama')]).toBeGreaterThan(bias[col('Action')] + 0.5);
    model.dispose();
  });

  it('leaves the initialisation alone with initItemBiases off', async () => {
    const c = parseConfig({ model: { initItemBiases: false, userBiasShrinkage: null } });
    const model = buildModel(c.features, c.model, users, items, tasks, 0);
    expect(model.layout.userBiasShrinkage).toBeNull();
    const before = model.params['emb.itemBias'].dataSync().slice();
    await initBiases(model, c.model, tasks, itemCatalog(items));
    expect(Array.from(model.params['emb.itemBias'].dataSync())).toEqual(Array.from(before));
    model.dispose();
  });
});
