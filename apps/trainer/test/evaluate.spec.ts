import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli } from '../src/cli';
import { createLogger } from '../src/util/logger';
import { silentProgress } from '../src/util/progress';
import { tinyDataset } from './fixtures/tiny-dataset';

function cli(lines: string[]) {
  return buildCli({
    ctx: { out: (l) => lines.push(l), logger: createLogger('silent'), progress: silentProgress },
    loadDataset: async () => tinyDataset(3),
    writeErr: () => undefined,
  });
}

describe('evaluate --protocol p1', () => {
  it('writes report.json with the stable schema, report.html and SVG charts', async () => {
    const out = mkdtempSync(join(tmpdir(), 'eval-'));
    const lines: string[] = [];
    const args = [
      'evaluate',
      '--seeds',
      '0,1',
      '--out',
      out,
      '--methods',
      'global-mean,item-bias,user-item-bias',
    ];
    await cli(lines).parseAsync(args, { from: 'user' });
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.protocol).toBe('p1');
    expect(report.dataset).toBe('tiny');
    expect(report.seeds).toEqual([0, 1]);
    expect(Object.keys(report.tasks)).toEqual(['warm', 'new_user', 'new_item', 'new_user_new_item']);
    expect(report.tasks.warm).toBeGreaterThan(10);
    expect(report.models.map((m: { name: string }) => m.name)).toEqual([
      'global-mean',
      'item-bias',
      'user-item-bias',
    ]);
    for (const m of report.models) {
      expect(m.backend).toBe('js');
      expect(typeof m.train_seconds).toBe('number');
      for (const s of Object.values(m.scenarios) as Record<string, number>[]) {
        expect(Object.keys(s).sort()).toEqual(['mae', 'mae_std', 'ndcg3', 'ndcg3_std', 'p5', 'rmse']);
      }
    }
    // the data has a per-user offset and genre taste: the support-set user bias must help new users
    const byName = Object.fromEntries(report.models.map((m: { name: string }) => [m.name, m]));
    expect(byName['user-item-bias'].scenarios.new_user.mae).toBeLessThan(
      byName['global-mean'].scenarios.new_user.mae,
    );
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('class="best"');
    expect(existsSync(join(out, 'kshot-mae.svg'))).toBe(true);
    expect(existsSync(join(out, '.evaluate-checkpoint.json'))).toBe(false);
    expect(lines.join('\n')).toMatch(/^user-item-bias /m);
  });

  it('rejects a bad flag naming it', async () => {
    await expect(
      cli([]).parseAsync(['evaluate', '--out', '/tmp/x', '--seeds', '1,b'], { from: 'user' }),
    ).rejects.toThrow(/--seeds/);
    await expect(
      cli([]).parseAsync(['evaluate', '--out', '/tmp/x', '--methods', 'nope'], { from: 'user' }),
    ).rejects.toThrow(/--methods: unknown method "nope"/);
  });
});

describe('evaluate on the feature store', () => {
  it('labels the report with --dataset-name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'eval-store-'));
    const database = join(dir, 'w.db');
    const config = join(dir, 'c.yaml');
    // Synthetic items are released 2020-2022: move P1's new-item year so there are warm tasks.
    writeFileSync(config, 'evaluate: { p1: { newItemYear: 2021 } }\n');
    const args = (extra: string[]) => [...extra, '--database', database];
    const lines: string[] = [];
    const real = () =>
      buildCli({
        ctx: { out: (l) => lines.push(l), logger: createLogger('silent'), progress: silentProgress },
        writeErr: () => undefined,
      });
    await real().parseAsync(
      args(['import', 'synthetic', '--users', '60', '--items', '40', '--interactions', '1800']),
      { from: 'user' },
    );
    const evaluate = (out: string, extra: string[]) =>
      real().parseAsync(
        args([
          'evaluate',
          '--seeds',
          '0',
          '--methods',
          'global-mean',
          '--config',
          config,
          '--out',
          out,
          ...extra,
        ]),
        { from: 'user' },
      );
    await evaluate(join(dir, 'named'), ['--dataset-name', 'shop-2026-q1']);
    const named = JSON.parse(readFileSync(join(dir, 'named', 'report.json'), 'utf8'));
    expect(named.dataset).toBe('shop-2026-q1');
    expect(named.tasks.warm).toBeGreaterThan(0);
    await evaluate(join(dir, 'default'), []);
    expect(JSON.parse(readFileSync(join(dir, 'default', 'report.json'), 'utf8')).dataset).toBe(
      'feature-store',
    );
  });
});
