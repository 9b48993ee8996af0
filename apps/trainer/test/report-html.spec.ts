import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderReportHtml } from '../src/report/report-html';
import {
  buildReport,
  type HarnessResult,
  type KShotPoint,
  type Report,
  type Scenario,
  SCENARIOS,
  type SeedMethodRun,
} from '@warmstart/evaluation';

const KS = [1, 3, 5, 10, 20];
const LEARNERS = ['fomaml', 'anil', 'anil-ridge', 'melu', 'a-learner-with-a-rather-long-name'];
const BASELINES = ['popularity', 'item-bias', 'item-knn', 'als', 'fine-tuned-net'];

function metrics(v: number, p2: boolean) {
  return {
    mae: 0.8 + v,
    rmse: 1 + v,
    ndcg3: 0.8 - v,
    p5: 0.5,
    tasks: 120,
    ...(p2 && { recall20: 0.2 + v, ndcg20: 0.15 + v, hr10: 0.4 + v, rankingTasks: 110 }),
  };
}

/** A harness result shaped like a real run: every model, every seed, long names, long backend. */
function result(seeds: number[], protocol: 'p1' | 'p2'): HarnessResult {
  const p2 = protocol === 'p2';
  const runs: SeedMethodRun[] = [];
  [...BASELINES, ...LEARNERS].forEach((name, m) => {
    for (const seed of seeds) {
      const v = (m + seed) / 100;
      const point = (k: number): KShotPoint => ({ k, ...metrics(v - k / 1000, p2) });
      runs.push({
        seed,
        name,
        scenarios: Object.fromEntries(SCENARIOS.map((s) => [s, metrics(v, p2)])) as Record<
          Scenario,
          ReturnType<typeof metrics>
        >,
        kShot: KS.map(point),
        ...(p2 && { kShotNewItems: KS.map(point) }),
        validation: metrics(v, p2),
        trainSeconds: 12.5,
        backend: 'wasm (SIMD, 2 threads) + native matMul (2 threads)',
        lossHistory: Array.from({ length: 900 }, (_, i) => 1 / (1 + i / 100) + (i % 7) / 20),
        tuned: { steps: 5, lr: 0.1, ridge: null, epochs: 3 },
      });
    }
  });
  return {
    dataset: 'hetrec-lastfm',
    seeds,
    tasks: { warm: 150, new_user: 378, new_item: 1400, new_user_new_item: 40 },
    splits: { warm_train: 1200, warm_validation: 150, warm_test: 150 },
    ...(p2 && {
      p2: {
        kind: 'explicit' as const,
        scale: [1, 5] as [number, number],
        hasTimes: false,
        basis: { newItems: 'random' as const, newUsers: 'random' as const },
        relevanceThreshold: 3.8,
        candidates: { warm_items: 14000, new_items: 3500 },
        tooSmall: ['new_user_new_item'],
      },
    }),
    runs,
  };
}

const config = { evaluate: { learners: LEARNERS.map((name) => ({ name })) } };
const reportOf = (seeds: number[], protocol: 'p1' | 'p2'): Report =>
  buildReport(result(seeds, protocol), config, new Date(0));

describe('report.html', () => {
  it("names the dataset in the title and shows P2's ranking metrics, notes and both k-shot curves", async () => {
    const { html, charts } = await renderReportHtml(reportOf([0, 1, 2], 'p2'));
    expect(html).toContain('<title>warmstart P2 report: hetrec-lastfm</title>');
    expect(html).toContain('<h1>hetrec-lastfm: protocol P2</h1>');
    for (const label of ['Recall@20', 'NDCG@20', 'HR@10', 'MAE']) expect(html).toContain(`<th>${label}</th>`);
    expect(html).toMatch(/no event times/);
    expect(html).toMatch(/new_user_new_item &middot; 40 tasks <span class="flag">\(fewer than 50 tasks/);
    expect(Object.keys(charts)).toEqual(
      expect.arrayContaining(['kshot-recall20', 'kshot-new-items-recall20', 'kshot-new-items-mae', 'loss']),
    );
    expect(html).toContain('&plusmn;');
  });

  it('has no spread column with one seed', async () => {
    const { html } = await renderReportHtml(reportOf([0], 'p2'));
    expect(html).not.toContain('&plusmn;');
    expect(html).toContain('One seed (0): no spread.');
  });

  it('plots the k-shot axis on a log scale that ends at the largest k', async () => {
    const { charts } = await renderReportHtml(reportOf([0, 1], 'p1'));
    const svg = charts['kshot-mae'];
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const k of KS) expect(labels).toContain(String(k));
    expect(labels).not.toContain('100');
  });

  it('smooths the loss curves of the meta-learners only, one line each', async () => {
    const report = reportOf([0, 1], 'p1');
    const { charts } = await renderReportHtml(report);
    const svg = charts['loss'];
    expect(svg).not.toContain('fine-tuned-net');
    for (const name of LEARNERS) expect(svg).toContain(`>${name}<`); // whole legend label, never cut
    const paths = [...svg.matchAll(/<path[^>]*aria-roledescription="line mark"[^>]*d="([^"]*)"/g)];
    expect(paths).toHaveLength(LEARNERS.length);
    for (const [, d] of paths) expect(d.split('L').length).toBeLessThanOrEqual(61); // about 60 points, not 900
  });
});

/** A headless Chromium on the PATH (or CHROMIUM), or null. */
function findChromium(): string | null {
  for (const bin of [process.env['CHROMIUM'], 'chromium', 'chromium-browser', 'google-chrome']) {
    if (!bin) continue;
    const found = spawnSync('sh', ['-c', `command -v "${bin}"`], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim()) return found.stdout.trim();
  }
  return null;
}

const chromium = findChromium();
const describeBrowser = chromium ? describe : describe.skip;
if (!chromium) {
  console.warn(
    'report.html layout test skipped: no chromium on the PATH (apt-get install chromium, or set CHROMIUM)',
  );
}

describeBrowser('report.html in a 1,280 px window (headless Chromium)', () => {
  jest.setTimeout(120_000);

  it.each([
    ['P2, explicit, 3 seeds', reportOf([0, 1, 2], 'p2')],
    ['P1, 3 seeds', reportOf([0, 1, 2], 'p1')],
  ])('%s: nothing wider than the window, and a screenshot to look at', async (_label, report) => {
    const dir = mkdtempSync(join(tmpdir(), 'report-html-'));
    const { html } = await renderReportHtml(report);
    // The page measures itself: the widest element's right edge against the window width.
    const probe = `<script>
      const over = [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5)
        .map((e) => e.tagName + (e.className ? '.' + e.className : ''));
      document.body.setAttribute('data-overflow', JSON.stringify({ width: window.innerWidth,
        scrollWidth: document.documentElement.scrollWidth, over: over.slice(0, 5) }));
    </script></body>`;
    const page = join(dir, 'report.html');
    writeFileSync(page, html.replace('</body>', probe));
    const flags = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--hide-scrollbars',
      '--window-size=1280,4000',
    ];
    const dom = execFileSync(chromium!, [...flags, '--dump-dom', `file://${page}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    // The screenshot first, so a failure leaves something to look at (its path is in the message).
    const shot = join(dir, 'report.png');
    execFileSync(chromium!, [...flags, `--screenshot=${shot}`, `file://${page}`], { stdio: 'ignore' });
    expect(existsSync(shot)).toBe(true);
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe('PNG');
    const attr = /data-overflow="([^"]*)"/.exec(dom);
    expect(attr).not.toBeNull();
    const measured = JSON.parse(attr![1].replace(/&quot;/g, '"'));
    expect({ ...measured, shot }).toEqual({ width: 1280, scrollWidth: 1280, over: [], shot });
  });
});
