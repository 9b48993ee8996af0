import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readMovieLens100k } from '../src/data/movielens-dir';
import { buildMethods } from '../src/eval/methods';
import { parseConfig } from '../src/config/load';
import { runP1 } from '@warmstart/evaluation';

// A reduced protocol on the real data (bias baselines, one seed): the full evaluation with
// meta-learners is `evaluate --protocol p1 --seeds 0,1,2`, too slow for the test suite.
// The dataset is never copied into the repo: ../shared next to the checkout, or WARMSTART_ML100K.
const DIR = process.env['WARMSTART_ML100K'] ?? join(__dirname, '../../../../shared/datasets/ml-100k');
const present = existsSync(`${DIR}/u.data`);
if (!present) console.warn(`movielens smoke test skipped: ${DIR}/u.data not found (set WARMSTART_ML100K)`);

(present ? describe : describe.skip)('P1 on MovieLens-100K (reduced)', () => {
  it('builds the four scenarios and the bias baselines beat the global mean where they should', async () => {
    const dataset = readMovieLens100k(DIR);
    expect(dataset.ratings).toHaveLength(100_000);
    const methods = buildMethods(parseConfig({}), ['global-mean', 'user-item-bias']);
    const result = await runP1(dataset, methods, { seeds: [0], kShot: [1, 5, 20] });
    const { warm_train, warm_validation, warm_test } = result.splits;
    expect(warm_train + warm_validation + warm_test).toBeGreaterThan(500);
    expect(result.tasks.warm).toBe(warm_test); // the scored warm tasks
    expect(result.tasks.new_user).toBeGreaterThan(100);
    expect(result.tasks.new_item).toBeGreaterThan(300);
    expect(result.tasks.new_user_new_item).toBeGreaterThan(100);
    const [mean, bias] = result.runs;
    for (const s of ['warm', 'new_user', 'new_item', 'new_user_new_item'] as const) {
      expect(bias.scenarios[s].mae).toBeLessThan(mean.scenarios[s].mae);
    }
    // more support ratings, better user bias
    expect(bias.kShot.find((p) => p.k === 20)!.mae).toBeLessThan(bias.kShot.find((p) => p.k === 1)!.mae);
  });
});
