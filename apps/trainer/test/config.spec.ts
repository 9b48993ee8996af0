import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../src/config/load';
import { learnerSettings } from '../src/eval/methods';

describe('config', () => {
  it('fills every default from an empty config', () => {
    const c = parseConfig({});
    expect(c.train.algorithm).toBe('anil');
    expect(c.evaluate.learners.map((l) => l.name)).toEqual([
      'fomaml',
      'anil',
      'anil-ridge',
      'anil-bayes',
      'melu',
    ]);
    expect(c.train.innerRidge).toBe(10);
    expect(c.model.idEmbeddings).toBe(true);
    expect(c.evaluate.seeds).toEqual([0, 1, 2]);
    expect(c.evaluate.kShot).toEqual([1, 3, 5, 10, 20]);
    expect(c.evaluate.p1.minRatings).toBe(13);
    expect(c.features.item.map((f) => f.name)).toEqual(['genres', 'release_year']);
  });

  it('names the bad key, nested or unknown', () => {
    expect(() => parseConfig({ train: { innerLr: -1 } })).toThrow(/^train\.innerLr: /);
    expect(() => parseConfig({ train: { innerLR: 0.1 } })).toThrow(/^train\.innerLR: unknown key/);
    expect(() => parseConfig({ evaluate: { learners: [{ name: 'x', algorithm: 'sgd' }] } })).toThrow(
      /^evaluate\.learners\.0\.algorithm: /,
    );
    let caught: unknown;
    try {
      parseConfig({ schedule: { lockTtlSeconds: 'soon' } });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).field).toBe('schedule.lockTtlSeconds');
  });

  it('lets a learner override single keys without resetting the rest to defaults', async () => {
    const c = parseConfig({
      adapt: { steps: 3 },
      model: { embeddingDim: 8 },
      evaluate: { learners: [{ name: 'x', adapt: { lr: 0.2 }, model: { hidden: [4] } }] },
    });
    const s = learnerSettings(c, c.evaluate.learners[0]);
    expect(s.adapt).toEqual({ steps: 3, lr: 0.2, ridge: null });
    expect(s.model.embeddingDim).toBe(8);
    expect(s.model.hidden).toEqual([4]);
    expect(s.algorithm).toBe(c.train.algorithm);
  });

  it('reads YAML and JSON files and overrides only what they set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'c.yaml'), 'train:\n  epochs: 2\nevaluate:\n  seeds: [5]\n');
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ adapt: { steps: 7 } }));
    const y = loadConfig(join(dir, 'c.yaml'));
    expect(y.train.epochs).toBe(2);
    expect(y.train.innerSteps).toBe(parseConfig({}).train.innerSteps);
    expect(y.evaluate.seeds).toEqual([5]);
    expect(loadConfig(join(dir, 'c.json')).adapt.steps).toBe(7);
    writeFileSync(join(dir, 'bad.json'), '{ nope');
    expect(() => loadConfig(join(dir, 'bad.json'))).toThrow(/^--config: .*not valid JSON/);
  });
});

describe('evaluate.p2 configuration', () => {
  it('has defaults for every key and names a bad one', () => {
    expect(parseConfig({}).evaluate.p2).toEqual({
      minSupport: 1,
      maxQuery: 100,
      supportFraction: 0.5,
      newItemFraction: 0.2,
      newUserFraction: 0.2,
      validationFraction: 0.1,
      testFraction: 0.1,
      relevanceShare: 0.3,
      kShot: [1, 3, 5, 10, 20],
    });
    expect(() => parseConfig({ evaluate: { p2: { minSupport: 0 } } })).toThrow(/^evaluate\.p2\.minSupport: /);
    expect(() => parseConfig({ evaluate: { p2: { validationFraction: 0.5, testFraction: 0.5 } } })).toThrow(
      /^evaluate\.p2\.testFraction: validationFraction \+ testFraction must leave warm users/,
    );
    expect(() => parseConfig({ evaluate: { p2: { baselines: ['svd'] } } })).toThrow(
      /^evaluate\.p2\.baselines\.0: /,
    );
    expect(() => parseConfig({ evaluate: { p2: { querySize: 3 } } })).toThrow(
      /^evaluate\.p2\.querySize: unknown key/,
    );
  });
});
